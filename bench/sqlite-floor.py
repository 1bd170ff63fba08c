#!/usr/bin/env python3
"""What one SQLite writer can append on this machine, without .NET or HTTP: our schema, our append statements.

Usage: bench/sqlite-floor.py STORE_DIRECTORY [BATCH ...]
  STORE_DIRECTORY  a WxLogistics SQLite data directory with waybills (for instance one seeded by
                   `dotnet bench/WxLogistics.Bench/bin/Release/net10.0/WxLogistics.Bench.dll seed --data DIR
                   --waybills 2000 --events 20 --out DIR/seed`); it is copied, not changed.
  BATCH            events per commit (default: 1 15 30)

Each commit appends BATCH new events to random waybills with the server's statements, in WAL mode with
synchronous=FULL (as the server), and then once more with synchronous=OFF and a 64 MB cache (no fsync: what SQLite's
own work costs). As the server's writer does, it numbers a waybill's event from the number it remembers for the
waybill, and reads the path's largest number only for a waybill it has not appended to yet. Prints milliseconds
per commit and microseconds per event.
"""
import os, random, shutil, sqlite3, sys, tempfile, time

APPEND = """INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
SELECT ?1, ?2, ?3, ?4, ?5, COALESCE(MAX(seq), 0) + 1, ?6 FROM path_events WHERE delivery_id = ?1 AND waybill_id = ?2
ON CONFLICT DO NOTHING RETURNING seq"""
APPEND_NUMBERED = """INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"""


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
        latest = {}
        started = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("PRAGMA data_version").fetchall()
            for _ in range(batch):
                key = random.choice(waybills)
                n += 1
                event = (*key, 1_700_000_000 + n, 200001, f"floor event {n}")
                if key in latest:
                    db.execute(APPEND_NUMBERED, (*event, latest[key] + 1, 0))
                    latest[key] += 1
                else:
                    latest[key] = db.execute(APPEND, (*event, 0)).fetchall()[0][0]
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
