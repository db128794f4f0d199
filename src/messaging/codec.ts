// The bus codecs of messages and receipts live with every other payload's in src/wire/.
export { type ReceiptRecord, decodeMessage, decodeReceipt, encodeMessage, encodeReceipt } from "../wire/index.js";
