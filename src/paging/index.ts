export type { Page } from "./page.js";
export { decodePageToken, encodePageToken, pageSize, positionString } from "./page-token.js";
export { decodeReceiptCursor, encodeReceiptCursor } from "./receipt-cursor.js";
