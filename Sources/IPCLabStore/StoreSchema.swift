import GRDB

/// The database's schema as versioned migrations: each runs once, in order, and GRDB records
/// which ran (table `grdb_migrations`). Never edit a migration that has shipped: add one.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs") { db in
            // `seq` is the order runs were stored in: lists page by it, retention drops the lowest.
            try db.execute(sql: """
                CREATE TABLE run (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    experiment TEXT,
                    outcome TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    duration_ns INTEGER NOT NULL,
                    stored_at REAL NOT NULL,
                    bytes INTEGER NOT NULL,
                    trace_json BLOB NOT NULL,
                    trace_text BLOB NOT NULL,
                    trace_chrome BLOB NOT NULL
                );
                CREATE INDEX run_by_experiment ON run(experiment, seq);
                CREATE INDEX run_by_outcome ON run(outcome, seq);
                CREATE INDEX run_by_stored_at ON run(stored_at);
                """)
        }
        migrator.registerMigration("v2: grades") { db in
            try db.execute(sql: """
                CREATE TABLE grade (
                    id TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT,
                    stored_at REAL NOT NULL,
                    grade_json BLOB NOT NULL
                );
                CREATE INDEX grade_by_stored_at ON grade(stored_at);
                """)
        }
        return migrator
    }

    /// The column that holds `format`.
    static func column(_ format: StoredRun.Format) -> String { "trace_\(format.rawValue)" }
}
