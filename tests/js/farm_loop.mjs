// A farming loop as outside KALE tools write it, against a devnet: fund with the SDK's friendbot
// helpers, read the farm's interface from its Wasm, plant when a block opens, then work once the
// block is `workAge` seconds old by the WALL clock (now - the block's timestamp), as real tools do.
// Usage: node farm_loop.mjs RPC_URL FARM_CONTRACT WORK_AGE_SECONDS  -> one JSON line on stdout.
import { Keypair, contract, rpc, scValToNative, xdr } from "@stellar/stellar-sdk";
import { keccak_256 } from "@noble/hashes/sha3.js";

const [rpcUrl, farmId, workAgeArg] = process.argv.slice(2);
const workAge = Number(workAgeArg);
const server = new rpc.Server(rpcUrl, { allowHttp: true });
const { passphrase } = await server.getNetwork();
const report = {};

const farmer = Keypair.random();
report.fundAddress = (await server.fundAddress(farmer.publicKey())).status;
const other = Keypair.random();
report.requestAirdrop = (await server.requestAirdrop(other.publicKey())).accountId() === other.publicKey();
report.methods = (await server.getContractMethods(farmId)).map((m) => m.name);

const farm = await contract.Client.from({
  contractId: farmId, networkPassphrase: passphrase, rpcUrl, allowHttp: true,
  publicKey: farmer.publicKey(), ...contract.basicNodeSigner(farmer, passphrase),
});

async function instance() {
  const entry = await server.getContractData(farmId, xdr.ScVal.scvLedgerKeyContractInstance(), rpc.Durability.Persistent);
  const items = entry.val.contractData.val.instance.storage || [];
  return Object.fromEntries(items.map((i) => [scValToNative(i.key)[0], scValToNative(i.val)]));
}

async function block(index) {
  const key = xdr.ScVal.scvVec([xdr.ScVal.scvSymbol("Block"), xdr.ScVal.scvU32(index)]);
  const entry = await server.getContractData(farmId, key, rpc.Durability.Temporary);
  return scValToNative(entry.val.contractData.val);
}

const wallNow = () => Date.now() / 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const plant = await farm.plant({ farmer: farmer.publicKey(), amount: 0n });
await plant.signAndSend();
const index = (await instance()).FarmIndex ?? 0;
const planted = await block(index);
report.index = index;
report.blockTimestamp = Number(planted.timestamp);
report.plantWallAge = wallNow() - report.blockTimestamp;

while (wallNow() - report.blockTimestamp < workAge) await sleep(200);

const farmerRaw = farmer.rawPublicKey();
let nonce = 0n;
let hash;
for (;; nonce += 1n) {
  const preimage = Buffer.alloc(76);
  preimage.writeUInt32BE(index, 0);
  preimage.writeBigUInt64BE(nonce, 4);
  Buffer.from(planted.entropy).copy(preimage, 12);
  Buffer.from(farmerRaw).copy(preimage, 44);
  hash = Buffer.from(keccak_256(preimage));
  if (hash[0] >> 4 === 0) break;  // at least one zero nibble
}
report.workWallAge = wallNow() - report.blockTimestamp;
const work = await farm.work({ farmer: farmer.publicKey(), hash, nonce });
const sent = await work.signAndSend();
report.gap = Number(sent.result);
const landed = await server.getTransaction(sent.sendTransactionResponse.hash);
report.workLedger = landed.ledger;
report.workLedgerAge = Number(landed.createdAt) - report.blockTimestamp;
report.indexAfterWork = (await instance()).FarmIndex ?? 0;
console.log(JSON.stringify(report));
