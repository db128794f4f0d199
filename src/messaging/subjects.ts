// Messaging's bus subjects live with every other subject in src/wire/.
export {
  ALL_RECEIPTS,
  INBOX_QUEUE,
  inboxSubject,
  observeSubject,
  receiptSubject,
  receiptsOfRecipient,
  receiptsOfSender,
  replySubject,
} from "../wire/index.js";
