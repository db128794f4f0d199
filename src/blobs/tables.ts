import type { ColumnType } from "kysely";

export interface BlobsTable {
  blob_id: string;
  owner_account_id: string;
  sha256: string;
  size_bytes: number;
  mime_type: string;
  filename: string;
  data: Uint8Array;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** Accounts other than the owner that may read a blob (recipients of a message referencing it). */
export interface BlobGrantsTable {
  blob_id: string;
  account_id: string;
}
