#!/usr/bin/env bash
# The demo, run by `make demo` inside scripts/with-emulator.sh (AWS_ENDPOINT_URL is set).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/target/debug/acu-pilot"
py="$root/.venv-ministack/bin/python"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cluster=shop-db
step "An existing Aurora Serverless v2 cluster, 0.5–16 ACU, tagged for acu-pilot with a live boost"
"$py" - "$cluster" <<'PY'
import sys, boto3
rds = boto3.client("rds")
cid = sys.argv[1]
rds.create_db_cluster(
    DBClusterIdentifier=cid, Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.09.0",
    MasterUsername="admin", ManageMasterUserPassword=True,
    ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 16},
    Tags=[
        {"Key": "acu-pilot:managed", "Value": "true"},
        {"Key": "acu-pilot:baseline", "Value": "min=0.5 max=16"},
        {"Key": "acu-pilot:boost", "Value": "max=24 until=2026-11-27T20:00:00Z by=demo"},
    ],
)
rds.create_db_instance(DBInstanceIdentifier=cid + "-writer", DBClusterIdentifier=cid,
                       DBInstanceClass="db.serverless", Engine="aurora-mysql")
c = rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0]
print("tags:", {t["Key"]: t["Value"] for t in c["TagList"]})
print("range before:", c["ServerlessV2ScalingConfiguration"])
PY

step "acu-pilot reconcile --dry-run (what would happen on 2026-11-27 18:00 UTC)"
"$cli" reconcile --cluster "$cluster" --now 2026-11-27T18:00:00Z --dry-run

step "acu-pilot reconcile (the boost is live: max widens to 24)"
"$cli" reconcile --cluster "$cluster" --now 2026-11-27T18:00:00Z

step "acu-pilot reconcile again (nothing to do: no ModifyDBCluster)"
"$cli" --api-calls reconcile --cluster "$cluster" --now 2026-11-27T18:00:00Z

step "acu-pilot reconcile after the boost expired (back to the baseline)"
"$cli" reconcile --cluster "$cluster" --now 2026-11-27T20:00:00Z --json
