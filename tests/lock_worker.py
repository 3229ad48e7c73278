"""A scheduler process for tests/test_jobs.py: `python -m tests.lock_worker DB_URL OUT_FILE START_AT SECONDS`.

Runs two 1-second jobs from START_AT (a Unix time, so both processes start together) for SECONDS:
`lock.lease` under the leader lease, `lock.race` with no lease at all (only the tick claim guards it).
Each execution appends "<job> <tick> <pid>" to OUT_FILE.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time


def main(url: str, out: str, start_at: float, seconds: float) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CRYSTAL_BAY_DEMO", "1")
    from crystal_bay import jobs
    from crystal_bay.db import make_engine

    engine = make_engine(url)

    def recorder(name: str):
        async def job(ctx: jobs.JobContext) -> str:
            with open(out, "a") as fh:
                fh.write(f"{name} {ctx.tick} {os.getpid()}\n")
            return "ok"

        return job

    lease_job = jobs.JobSpec("lock.lease", 1, recorder("lock.lease"), "lease", "lease")
    race_job = jobs.JobSpec("lock.race", 1, recorder("lock.race"), "race", "race")

    async def run() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        leader = jobs.Scheduler(engine=engine, jobs=[lease_job], lease_ttl_s=3)
        racer = jobs.Scheduler(engine=engine, jobs=[race_job], use_lease=False)
        await leader.start()
        await racer.start()
        await asyncio.sleep(seconds)
        await racer.stop()
        await leader.stop()

    asyncio.run(run())
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
