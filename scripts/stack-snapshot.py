#!/usr/bin/env python3
"""Prints, as one JSON object, what a stack's functions are besides their code: each
function's configuration, tags, concurrency, invoke config and resource policy, and each
rule and schedule that invokes them. Two snapshots around `make deploy-fn` must be equal
(tests/tests/deployed.rs): a code deploy changes nothing else.

    .venv-ministack/bin/python scripts/stack-snapshot.py STACK

Uses the SDK's usual configuration (AWS_ENDPOINT_URL for the emulator).
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError

# What a new build legitimately changes.
CODE_FIELDS = {"CodeSha256", "CodeSize", "LastModified", "RevisionId", "Version",
               "LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode",
               "State", "StateReason", "StateReasonCode"}


def optional(call, **kwargs):
    try:
        out = call(**kwargs)
    except ClientError as err:
        return {"error": err.response["Error"]["Code"]}
    out.pop("ResponseMetadata", None)
    return out


def main():
    stack = sys.argv[1]
    cfn, lam = boto3.client("cloudformation"), boto3.client("lambda")
    events, scheduler = boto3.client("events"), boto3.client("scheduler")
    snapshot = {}
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    for r in sorted(resources, key=lambda r: r["LogicalResourceId"]):
        kind, pid = r["ResourceType"], r.get("PhysicalResourceId", "")
        if kind == "AWS::Lambda::Function":
            config = lam.get_function_configuration(FunctionName=pid)
            config.pop("ResponseMetadata", None)
            snapshot[r["LogicalResourceId"]] = {
                "configuration": {k: v for k, v in config.items() if k not in CODE_FIELDS},
                "tags": lam.list_tags(Resource=config["FunctionArn"])["Tags"],
                "concurrency": optional(lam.get_function_concurrency, FunctionName=pid),
                "invoke_config": optional(lam.get_function_event_invoke_config, FunctionName=pid),
                "policy": optional(lam.get_policy, FunctionName=pid).get("Policy"),
            }
        elif kind == "AWS::Events::Rule":
            name = pid.split("|")[-1]
            rule = optional(events.describe_rule, Name=name)
            targets = optional(events.list_targets_by_rule, Rule=name)
            snapshot[r["LogicalResourceId"]] = {"rule": rule, "targets": targets}
        elif kind == "AWS::Scheduler::Schedule":
            schedule = optional(scheduler.get_schedule, Name=pid.split("|")[-1])
            for key in ("CreationDate", "LastModificationDate"):
                schedule.pop(key, None)
            snapshot[r["LogicalResourceId"]] = schedule
    json.dump(snapshot, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
