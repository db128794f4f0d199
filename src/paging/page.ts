/** One page of a listing: its items, and the token of the next page ("" on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}
