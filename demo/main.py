"""`make demo`: the whole job on a throwaway partner server, every step verified, then cleaned up.

Partner server (OpenSSH), connection + keys through the provider's CLI, the partner encrypts a CSV to
our key, the example import DAG decrypts and loads it, the Asset-triggered DAG reacts, the export DAG
encrypts a segment to the partner's key and uploads it locked, the partner decrypts it, and the
overview counts it all. Exit code 0 only if every check passed.
"""

from __future__ import annotations

import sys
import time

from demo.partner_setup import (
    CONN_ID,
    actito_sftp,
    build_world,
    check,
    configure_connection,
    partner_drops_customers,
    say,
    tear_down,
)


def _states(run: object) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}  # type: ignore[attr-defined]


def main() -> int:
    started = time.monotonic()
    world = build_world()
    try:
        configure_connection(world)
        sample = partner_drops_customers(world)
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag()
        check(not bag.import_errors and len(bag.dag_ids) == 3, f"example DAGs parsed: {', '.join(sorted(bag.dag_ids))}")

        say("6. Run the import DAG (sensor -> import + decrypt -> load)")
        run = bag.get_dag("actito_import_customers").test()
        check(
            _states(run) == {"wait_for_files": "success", "import_files": "success", "load_customers": "success"},
            "actito_import_customers succeeded",
        )
        landed = world.landing / "customers-20261127.csv"
        check(landed.read_bytes() == sample.read_bytes(), f"decrypted file published: {landed}")
        check(
            [p.name for p in world.folders["archive"].iterdir()] == ["customers-20261127.csv.pgp"],
            "remote file moved to 'archive' after the local commit",
        )

        say("7. The Asset event triggers the downstream DAG")
        run = bag.get_dag("actito_on_customers_imported").test()
        check(_states(run) == {"announce": "success"}, "actito_on_customers_imported succeeded")

        say("8. Run the export DAG (build segment -> encrypt to the partner's key -> locked upload)")
        run = bag.get_dag("actito_export_segment").test()
        check(
            _states(run) == {"build_segment": "success", "upload_segment": "success"}, "actito_export_segment succeeded"
        )
        [uploaded] = list(world.folders["outbound"].iterdir())
        check(uploaded.name.endswith(".csv.pgp"), f"uploaded {uploaded.name}; no '.part' file left behind")
        decrypted = world.workdir / "partner-received.csv"
        world.partner.decrypt(uploaded, decrypted)  # type: ignore[attr-defined]
        [segment] = list(world.exports.iterdir())
        check(decrypted.read_bytes() == segment.read_bytes(), "the partner decrypts it to exactly our segment")

        say("9. The overview, from Airflow's task history")
        check(actito_sftp("metrics", CONN_ID, "--days", "7") == 0, "overview printed")
        from airflow.utils.session import create_session

        from airflow_provider_actito_sftp.metrics import overview

        with create_session() as session:
            numbers = overview(session, conn_id=CONN_ID)
        check((numbers.downloads, numbers.uploads, numbers.failed) == (1, 1, 0), "1 download, 1 upload, no failure")
        print("\nIn the Airflow UI the same numbers and charts are under Browse -> Actito SFTP")
        print("(run `make airflow`, then open http://localhost:8080 and log in as admin).")
        print(f"\nDemo passed in {time.monotonic() - started:.0f} s.")
        return 0
    finally:
        tear_down(world)


if __name__ == "__main__":
    sys.exit(main())
