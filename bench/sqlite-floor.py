#!/usr/bin/env python3
"""What one SQLite writer can append on this machine, without .NET or HTTP: our schema, our append statement.

Usage: bench/sqlite-floor.py STORE_DIRECTORY [BATCH ...]
  STORE_DIRECTORY  a WxLogistics SQLite data directory with waybills (for instance one seeded by
                   `dotnet bench/WxLogistics.Bench/bin/Release/net10.0/WxLogistics.Bench.dll seed --data DIR
                   --waybills 2000 --events 20 --out DIR/seed`); it is copied, not changed.
  BATCH            events per commit (default: 1 15 30)

Each commit appends BATCH new events to random waybills with the server's statement, in WAL mode with
synchronous=FULL (as the server), and then once more with synchronous=OFF and a 64 MB cache (no fsync: what SQLite's
own work costs). Prints milliseconds per commit and microseconds per event.
"""
import os, random, shutil, sqlite3, sys, tempfile, time

APPEND = """INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
SELECT ?1, ?2, ?3, ?4, ?5, COALESCE(MAX(seq), 0) + 1, ?6 FROM path_events WHERE delivery_id = ?1 AND waybill_id = ?2
ON CONFLICT DO NOTHING RETURNING seq"""


def measure(source, batch, pragmas, commits=300):
    work = tempfile.mkdtemp(prefix="wxlogistics-floor.")
    try:
        shutil.copy(os.path.join(source, "wxlogistics.db"), os.path.join(work, "wxlogistics.db"))
        db = sqlite3.connect(os.path.join(work, "wxlogistics.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        for pragma in pragmas:
            db.execute(pragma)
        waybills = db.execute("SELECT delivery_id, waybill_id FROM waybills").fetchall()
        n = 0
        started = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN IMMEDIATE")
            for _ in range(batch):
                delivery, waybill = random.choice(waybills)
                n += 1
                db.execute(APPEND, (delivery, waybill, 1_700_000_000 + n, 200001, f"floor event {n}", 0)).fetchall()
            db.execute("COMMIT")
        elapsed = time.perf_counter() - started
        db.close()
        return elapsed / commits * 1000, elapsed / (commits * batch) * 1e6
    finally:
        shutil.rmtree(work)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    source, batches = sys.argv[1], [int(b) for b in sys.argv[2:]] or [1, 15, 30]
    print(f"SQLite {sqlite3.sqlite_version}, store {source}")
    print(f"reproduce: bench/sqlite-floor.py {source} {' '.join(map(str, batches))}")
    for label, pragmas in (("synchronous=FULL", ["PRAGMA synchronous=FULL"]),
                           ("synchronous=OFF, 64 MB cache", ["PRAGMA synchronous=OFF", "PRAGMA cache_size=-65536"])):
        for batch in batches:
            per_commit, per_event = measure(source, batch, pragmas)
            print(f"{label:30} batch {batch:3}: {per_commit:6.3f} ms per commit, {per_event:5.0f} us per event")


if __name__ == "__main__":
    main()
