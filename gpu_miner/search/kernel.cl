/* KALE nonce search: keccak256 (original Keccak padding) of
 * index u32 BE | nonce u64 BE | entropy[32] | farmer[32], 76 bytes = one Keccak-f[1600].
 *
 * The host passes, per farmer, the 25 lanes of the padded input block with the
 * nonce bytes left zero. Keccak lanes are little-endian u64, so the nonce lands
 * as: lane 0 bits 32..63 = byte-swapped high half of the nonce, lane 1 bits 0..31
 * = byte-swapped low half; i.e. with r = bswap64(nonce), lane0 |= r << 32 and
 * lane1 |= r >> 32.
 *
 * Build with -D VW=1|2|4|8|16: each work-item hashes VW nonces at once in ulongVW
 * vectors. VW=1 suits GPUs (one nonce per work-item, 25 lanes in registers);
 * VW=8 maps onto AVX-512 on pocl. Rotations are two shifts and an or: pocl's
 * rotate() defeats its vectoriser.
 *
 * Result per work-group and farmer: a key (zeros << 32) | (0xffffffff - offset),
 * where offset = nonce - start < 2^32 - 1. The largest key is the most zeros at the
 * lowest nonce; 0 means no nonce in range.
 */

#if VW == 1
typedef ulong V;
#define LANES 0UL
#define ANY(c) (c)
#define HMAX(v) (v)
#elif VW == 2
typedef ulong2 V;
#define LANES ((V)(0, 1))
#define ANY(c) any(c)
#define HMAX(v) max((v).s0, (v).s1)
#elif VW == 4
typedef ulong4 V;
#define LANES ((V)(0, 1, 2, 3))
#define ANY(c) any(c)
#define HMAX(v) max(max((v).s0, (v).s1), max((v).s2, (v).s3))
#elif VW == 8
typedef ulong8 V;
#define LANES ((V)(0, 1, 2, 3, 4, 5, 6, 7))
#define ANY(c) any(c)
#define HMAX4(v) max(max((v).s0, (v).s1), max((v).s2, (v).s3))
#define HMAX(v) max(HMAX4((v).lo), HMAX4((v).hi))
#elif VW == 16
typedef ulong16 V;
#define LANES ((V)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define ANY(c) any(c)
#define HMAX4(v) max(max((v).s0, (v).s1), max((v).s2, (v).s3))
#define HMAX8(v) max(HMAX4((v).lo), HMAX4((v).hi))
#define HMAX(v) max(HMAX8((v).lo), HMAX8((v).hi))
#else
#error "VW must be 1, 2, 4, 8 or 16"
#endif

#define ROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* theta, rho, pi, chi, iota: state S0..S24 -> T0..T24 (lane x + 5y in S##(x+5y)). */
#define ROUND(S, T, rc) {                                                        \
    const V C0 = S##0 ^ S##5 ^ S##10 ^ S##15 ^ S##20;                              \
    const V C1 = S##1 ^ S##6 ^ S##11 ^ S##16 ^ S##21;                              \
    const V C2 = S##2 ^ S##7 ^ S##12 ^ S##17 ^ S##22;                              \
    const V C3 = S##3 ^ S##8 ^ S##13 ^ S##18 ^ S##23;                              \
    const V C4 = S##4 ^ S##9 ^ S##14 ^ S##19 ^ S##24;                              \
    const V D0 = C4 ^ ROL(C1, 1);                                                  \
    const V D1 = C0 ^ ROL(C2, 1);                                                  \
    const V D2 = C1 ^ ROL(C3, 1);                                                  \
    const V D3 = C2 ^ ROL(C4, 1);                                                  \
    const V D4 = C3 ^ ROL(C0, 1);                                                  \
    V B0, B1, B2, B3, B4;                                                          \
    B0 = S##0 ^ D0;            B1 = ROL(S##6 ^ D1, 44);  B2 = ROL(S##12 ^ D2, 43); \
    B3 = ROL(S##18 ^ D3, 21);  B4 = ROL(S##24 ^ D4, 14);                           \
    T##0 = B0 ^ (~B1 & B2) ^ (rc); T##1 = B1 ^ (~B2 & B3); T##2 = B2 ^ (~B3 & B4); \
    T##3 = B3 ^ (~B4 & B0);    T##4 = B4 ^ (~B0 & B1);                             \
    B0 = ROL(S##3 ^ D3, 28);   B1 = ROL(S##9 ^ D4, 20);  B2 = ROL(S##10 ^ D0, 3);  \
    B3 = ROL(S##16 ^ D1, 45);  B4 = ROL(S##22 ^ D2, 61);                           \
    T##5 = B0 ^ (~B1 & B2);    T##6 = B1 ^ (~B2 & B3);   T##7 = B2 ^ (~B3 & B4);   \
    T##8 = B3 ^ (~B4 & B0);    T##9 = B4 ^ (~B0 & B1);                             \
    B0 = ROL(S##1 ^ D1, 1);    B1 = ROL(S##7 ^ D2, 6);   B2 = ROL(S##13 ^ D3, 25); \
    B3 = ROL(S##19 ^ D4, 8);   B4 = ROL(S##20 ^ D0, 18);                           \
    T##10 = B0 ^ (~B1 & B2);   T##11 = B1 ^ (~B2 & B3);  T##12 = B2 ^ (~B3 & B4);  \
    T##13 = B3 ^ (~B4 & B0);   T##14 = B4 ^ (~B0 & B1);                            \
    B0 = ROL(S##4 ^ D4, 27);   B1 = ROL(S##5 ^ D0, 36);  B2 = ROL(S##11 ^ D1, 10); \
    B3 = ROL(S##17 ^ D2, 15);  B4 = ROL(S##23 ^ D3, 56);                           \
    T##15 = B0 ^ (~B1 & B2);   T##16 = B1 ^ (~B2 & B3);  T##17 = B2 ^ (~B3 & B4);  \
    T##18 = B3 ^ (~B4 & B0);   T##19 = B4 ^ (~B0 & B1);                            \
    B0 = ROL(S##2 ^ D2, 62);   B1 = ROL(S##8 ^ D3, 55);  B2 = ROL(S##14 ^ D4, 39); \
    B3 = ROL(S##15 ^ D0, 41);  B4 = ROL(S##21 ^ D1, 2);                            \
    T##20 = B0 ^ (~B1 & B2);   T##21 = B1 ^ (~B2 & B3);  T##22 = B2 ^ (~B3 & B4);  \
    T##23 = B3 ^ (~B4 & B0);   T##24 = B4 ^ (~B0 & B1);                            \
}

/* Leading zero hex digits of the 8 hash bytes in lane h (byte 0 = low byte of h):
 * swap the nibbles of each byte so the digits run from bit 0 upwards, then count
 * trailing zero bits (popcount of the mask below the lowest set bit); 16 if h == 0. */
#define NSWAP(h) ((((h) & 0x0F0F0F0F0F0F0F0FUL) << 4) | (((h) >> 4) & 0x0F0F0F0F0F0F0F0FUL))
#define NIBBLE_ZEROS(h) (popcount(~NSWAP(h) & (NSWAP(h) - 1)) >> 2)

/* Leading zero hex digits of a hash whose first 32 bytes are lanes h0..h3. */
static V hash_zeros(V h0, V h1, V h2, V h3)
{
    const V z3 = NIBBLE_ZEROS(h3);
    const V z2 = NIBBLE_ZEROS(h2) + (h2 == 0 ? z3 : (V)0);
    const V z1 = NIBBLE_ZEROS(h1) + (h1 == 0 ? z2 : (V)0);
    return NIBBLE_ZEROS(h0) + (h0 == 0 ? z1 : (V)0);
}

static V bswap64(V x)
{
    x = (x << 32) | (x >> 32);
    x = ((x & 0x0000FFFF0000FFFFUL) << 16) | ((x >> 16) & 0x0000FFFF0000FFFFUL);
    return ((x & 0x00FF00FF00FF00FFUL) << 8) | ((x >> 8) & 0x00FF00FF00FF00FFUL);
}

__kernel void kale_search(__global const ulong *states, /* 25 lanes per farmer */
                          const ulong start,             /* first nonce of this launch */
                          const uint iters,              /* VW-nonce steps per work-item */
                          const uint limit,              /* nonces per farmer in this launch */
                          __global ulong *best,          /* [farmer][group] keys */
                          __local ulong *scratch)        /* one key per work-item */
{
    const size_t farmer = get_global_id(1);
    __global const ulong *s = states + 25 * farmer;
    const ulong s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6],
        s7 = s[7], s8 = s[8], s9 = s[9], s10 = s[10], s11 = s[11], s12 = s[12], s13 = s[13],
        s14 = s[14], s15 = s[15], s16 = s[16], s17 = s[17], s18 = s[18], s19 = s[19],
        s20 = s[20], s21 = s[21], s22 = s[22], s23 = s[23], s24 = s[24];

    const ulong first = (ulong)get_global_id(0) * iters * VW;
    V top = 0;
    for (uint it = 0; it < iters; ++it) {
        const V offset = (V)(first + (ulong)it * VW) + LANES;
        const V r = bswap64(start + offset);
        V a0 = s0 | (r << 32), a1 = s1 | (r >> 32), a2 = s2, a3 = s3, a4 = s4, a5 = s5,
          a6 = s6, a7 = s7, a8 = s8, a9 = s9, a10 = s10, a11 = s11, a12 = s12, a13 = s13,
          a14 = s14, a15 = s15, a16 = s16, a17 = s17, a18 = s18, a19 = s19, a20 = s20,
          a21 = s21, a22 = s22, a23 = s23, a24 = s24;
        V e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17,
          e18, e19, e20, e21, e22, e23, e24;

        ROUND(a, e, 0x0000000000000001UL) ROUND(e, a, 0x0000000000008082UL)
        ROUND(a, e, 0x800000000000808AUL) ROUND(e, a, 0x8000000080008000UL)
        ROUND(a, e, 0x000000000000808BUL) ROUND(e, a, 0x0000000080000001UL)
        ROUND(a, e, 0x8000000080008081UL) ROUND(e, a, 0x8000000000008009UL)
        ROUND(a, e, 0x000000000000008AUL) ROUND(e, a, 0x0000000000000088UL)
        ROUND(a, e, 0x0000000080008009UL) ROUND(e, a, 0x000000008000000AUL)
        ROUND(a, e, 0x000000008000808BUL) ROUND(e, a, 0x800000000000008BUL)
        ROUND(a, e, 0x8000000000008089UL) ROUND(e, a, 0x8000000000008003UL)
        ROUND(a, e, 0x8000000000008002UL) ROUND(e, a, 0x8000000000000080UL)
        ROUND(a, e, 0x000000000000800AUL) ROUND(e, a, 0x800000008000000AUL)
        ROUND(a, e, 0x8000000080008081UL) ROUND(e, a, 0x8000000000008080UL)
        ROUND(a, e, 0x0000000080000001UL)

        /* Round 24 only for the hash's first 32 bytes (lanes 0..3). */
        const V C0 = e0 ^ e5 ^ e10 ^ e15 ^ e20, C1 = e1 ^ e6 ^ e11 ^ e16 ^ e21,
                C2 = e2 ^ e7 ^ e12 ^ e17 ^ e22, C3 = e3 ^ e8 ^ e13 ^ e18 ^ e23,
                C4 = e4 ^ e9 ^ e14 ^ e19 ^ e24;
        const V B0 = e0 ^ C4 ^ ROL(C1, 1), B1 = ROL(e6 ^ C0 ^ ROL(C2, 1), 44),
                B2 = ROL(e12 ^ C1 ^ ROL(C3, 1), 43);
        const V h0 = B0 ^ (~B1 & B2) ^ 0x8000000080008008UL;
        V zeros = NIBBLE_ZEROS(h0);
        if (ANY(h0 == 0)) { /* 16 zeros or more: about once in 2^64 hashes */
            const V B3 = ROL(e18 ^ C2 ^ ROL(C4, 1), 21), B4 = ROL(e24 ^ C3 ^ ROL(C0, 1), 14);
            zeros = hash_zeros(h0, B1 ^ (~B2 & B3), B2 ^ (~B3 & B4), B3 ^ (~B4 & B0));
        }
        const V key = (zeros << 32) | (0xFFFFFFFFUL - offset);
        top = max(top, offset < limit ? key : (V)0);
    }

    const size_t lid = get_local_id(0);
    scratch[lid] = HMAX(top);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t step = get_local_size(0) / 2; step > 0; step /= 2) {
        if (lid < step)
            scratch[lid] = max(scratch[lid], scratch[lid + step]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        best[farmer * get_num_groups(0) + get_group_id(0)] = scratch[0];
}
