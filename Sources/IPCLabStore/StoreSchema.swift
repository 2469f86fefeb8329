import GRDB

/// The database's schema as versioned migrations, the same list for both backends: each runs once,
/// in order, and the backend records which ran (SQLite: GRDB's table `grdb_migrations`; PostgreSQL:
/// `ipclab_migrations`). Never edit a migration that has shipped: add one.
enum StoreSchema {
    /// One step of the schema, in each backend's dialect (the same tables, columns and indexes).
    struct Migration {
        let name: String
        let sqlite: String
        let postgres: String
    }

    static let migrations: [Migration] = [
        Migration(
            name: "v1: runs",
            // `seq` is the order runs were stored in: lists page by it, retention drops the lowest.
            sqlite: """
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
                """,
            // The blobs are compressed already: STORAGE EXTERNAL keeps PostgreSQL from compressing them again.
            postgres: """
                CREATE TABLE run (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    experiment TEXT,
                    outcome TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    duration_ns BIGINT NOT NULL,
                    stored_at DOUBLE PRECISION NOT NULL,
                    bytes BIGINT NOT NULL,
                    trace_json BYTEA NOT NULL,
                    trace_text BYTEA NOT NULL,
                    trace_chrome BYTEA NOT NULL
                );
                ALTER TABLE run ALTER COLUMN trace_json SET STORAGE EXTERNAL,
                                ALTER COLUMN trace_text SET STORAGE EXTERNAL,
                                ALTER COLUMN trace_chrome SET STORAGE EXTERNAL;
                CREATE INDEX run_by_experiment ON run(experiment, seq);
                CREATE INDEX run_by_outcome ON run(outcome, seq);
                CREATE INDEX run_by_stored_at ON run(stored_at);
                """),
        Migration(
            name: "v2: grades",
            sqlite: """
                CREATE TABLE grade (
                    id TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT,
                    stored_at REAL NOT NULL,
                    grade_json BLOB NOT NULL
                );
                CREATE INDEX grade_by_stored_at ON grade(stored_at);
                """,
            postgres: """
                CREATE TABLE grade (
                    id TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT,
                    stored_at DOUBLE PRECISION NOT NULL,
                    grade_json BYTEA NOT NULL
                );
                ALTER TABLE grade ALTER COLUMN grade_json SET STORAGE EXTERNAL;
                CREATE INDEX grade_by_stored_at ON grade(stored_at);
                """),
        Migration(
            name: "v3: runs cheaper to insert",
            // Each insert wrote a page of every B-tree it touched to the WAL: AUTOINCREMENT's
            // `sqlite_sequence` row and the `stored_at` index were two of seven, and the outcome
            // index a third for an `ok` run, which now it indexes no more (most runs are `ok`: a
            // list of them finds its page by walking `seq` back; ``RunStore/list`` names the
            // index's condition so that other outcomes use it). A rowid without
            // AUTOINCREMENT is still one more than the largest stored, so `seq` keeps the order runs
            // were stored in; retention by days walks `seq` (``StoreRetention/pruneDays``). SQLite
            // cannot drop AUTOINCREMENT in place: the table is copied, every run and its `seq` kept.
            sqlite: """
                CREATE TABLE run_v3 (
                    seq INTEGER PRIMARY KEY,
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
                INSERT INTO run_v3 (seq, id, experiment, outcome, started_at, duration_ns, stored_at, bytes,
                                    trace_json, trace_text, trace_chrome)
                    SELECT seq, id, experiment, outcome, started_at, duration_ns, stored_at, bytes,
                           trace_json, trace_text, trace_chrome FROM run ORDER BY seq;
                DROP TABLE run;
                ALTER TABLE run_v3 RENAME TO run;
                CREATE INDEX run_by_experiment ON run(experiment, seq);
                CREATE INDEX run_by_outcome ON run(outcome, seq) WHERE outcome <> 'ok';
                """,
            // An identity column is a sequence, not a table: only the index goes. A row stays in
            // the table's own page up to 8160 bytes (a `pipe.hello` run's is ~2.7 KB) rather than
            // from 2 KB on having its blob moved to the TOAST table, a second table and index to
            // write; larger traces still go there.
            postgres: """
                DROP INDEX IF EXISTS run_by_stored_at;
                DROP INDEX IF EXISTS run_by_outcome;
                CREATE INDEX run_by_outcome ON run(outcome, seq) WHERE outcome <> 'ok';
                ALTER TABLE run SET (toast_tuple_target = 8160);
                """),
    ]

    /// The SQLite migrations as GRDB's migrator.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sqlite) }
        }
        return migrator
    }

    /// The column that holds `format`.
    static func column(_ format: StoredRun.Format) -> String { "trace_\(format.rawValue)" }
}
