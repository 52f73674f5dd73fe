// knex's SQLite client and transaction classes, which it does not type: shared/sqlite-client.ts extends them.
declare module 'knex/lib/dialects/sqlite3' {
  class Client_SQLite3 {
    constructor(config: unknown);
    transaction(...args: unknown[]): unknown;
    /** Runs one query object ({ sql, bindings, method }) on a connection; sets its response and context. */
    _query(connection: unknown, obj: { sql?: string; bindings?: unknown[] }): Promise<unknown>;
  }
  export = Client_SQLite3;
}

declare module 'knex/lib/dialects/sqlite3/execution/sqlite-transaction' {
  class Transaction_Sqlite {
    constructor(client: unknown, ...args: unknown[]);
    readOnly?: boolean;
    query(conn: unknown, sql: string): Promise<unknown>;
    begin(conn: unknown): Promise<unknown>;
    isCompleted(): boolean;
  }
  export = Transaction_Sqlite;
}
