#!/usr/bin/env python3
"""Deploys template.yaml into the local AWS emulator, the way `sam deploy` would.

    .venv-ministack/bin/python scripts/deploy-local.py --stack-name NAME \
        [--endpoint URL] [--bin-dir target/debug] [--param Key=Value ...]

Runs with the emulator's own virtualenv (boto3 is there) and needs no SAM CLI:
1. zips each function's binary from --bin-dir as `bootstrap` (x86_64: the emulator runs
   `provided.al2023` bootstraps as host processes and ignores Architectures);
2. creates an artifacts bucket in the emulator and uploads the zips;
3. creates what a provisioned cluster needs in an account (a VPC, two subnets, a
   security group, a DB subnet group);
4. packages the template: each function's CodeUri becomes its S3 object and the
   cargo-lambda build metadata goes (nothing is built here);
5. creates the stack through CloudFormation (the emulator runs the SAM transform) with
   LocalEndpointUrl pointing the functions at the emulator and DryRun=false, and waits
   for CREATE_COMPLETE, printing the stack events if it fails.

Prints one JSON object on stdout: the stack, its outputs, each function's physical name
and the network fixtures. Everything else goes to stderr.
"""

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile

import boto3
import yaml
from botocore.exceptions import ClientError

FUNCTIONS = ["provisioner", "alarm-handler", "pre-scaler", "janitor"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The limit on an inline TemplateBody; a larger template goes through S3.
TEMPLATE_BODY_LIMIT = 51_200


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# CloudFormation's short-form intrinsics (!Ref, !Sub, !If, ...) are YAML tags: keep them
# as they are, whatever the node kind, so the packaged template means the same thing.
class Tagged:
    def __init__(self, tag, value, kind):
        self.tag, self.value, self.kind = tag, value, kind


class Loader(yaml.SafeLoader):
    pass


class Dumper(yaml.SafeDumper):
    pass


def construct_tagged(loader, tag_suffix, node):
    tag = "!" + tag_suffix
    if isinstance(node, yaml.ScalarNode):
        return Tagged(tag, loader.construct_scalar(node), "scalar")
    if isinstance(node, yaml.SequenceNode):
        return Tagged(tag, loader.construct_sequence(node, deep=True), "sequence")
    return Tagged(tag, loader.construct_mapping(node, deep=True), "mapping")


def represent_tagged(dumper, data):
    if data.kind == "scalar":
        style = "|" if "\n" in data.value else None
        return dumper.represent_scalar(data.tag, data.value, style=style)
    if data.kind == "sequence":
        return dumper.represent_sequence(data.tag, data.value)
    return dumper.represent_mapping(data.tag, data.value)


def represent_str(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


Loader.add_multi_constructor("!", construct_tagged)
Dumper.add_representer(Tagged, represent_tagged)
Dumper.add_representer(str, represent_str)


def zip_bootstrap(binary):
    data = io.BytesIO()
    # Level 1: the debug binaries are ~40 MB and level 6 costs seconds each for little.
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 << 16)
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as f:
            archive.writestr(info, f.read(), compresslevel=1)
    return data.getvalue()


def ensure_bucket(s3, bucket):
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def network(ec2, rds, name):
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])
    ]
    sg = ec2.create_security_group(GroupName=name, Description="acu-pilot e2e", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription="acu-pilot e2e", SubnetIds=subnets
    )
    return {"vpc": vpc, "subnets": subnets, "security_group": sg, "subnet_group": name}


def package(template_path, code):
    with open(template_path) as f:
        template = yaml.load(f, Loader=Loader)
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    packaged = []
    for logical, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        metadata = resource.get("Metadata", {})
        binary = metadata.get("BuildProperties", {}).get("Binary")
        if binary not in code:
            sys.exit(f"deploy-local: {logical} builds binary {binary!r}, which is not one of {FUNCTIONS}")
        metadata.pop("BuildMethod", None)
        metadata.pop("BuildProperties", None)
        resource["Properties"]["CodeUri"] = code[binary]
        packaged.append(binary)
    if sorted(packaged) != sorted(FUNCTIONS):
        sys.exit(f"deploy-local: the template has functions {packaged}, expected {FUNCTIONS}")
    return yaml.dump(template, Dumper=Dumper, sort_keys=False, width=1000)


def print_events(cfn, stack):
    log(f"stack events of {stack} (oldest first):")
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError as err:
        log(f"  (no events: {err})")
        return
    for e in reversed(events):
        log(
            f"  {e.get('Timestamp')} {e.get('LogicalResourceId')} {e.get('ResourceType')} "
            f"{e.get('ResourceStatus')} {e.get('ResourceStatusReason') or ''}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument("--function-endpoint", help="AWS_ENDPOINT_URL for the functions (default: --endpoint)")
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "debug"))
    parser.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    parser.add_argument("--bucket", default="acu-pilot-local-artifacts")
    parser.add_argument("--param", action="append", default=[], help="Key=Value override")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    if not args.endpoint:
        sys.exit("deploy-local: no emulator endpoint (--endpoint or AWS_ENDPOINT_URL)")

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=region,
    )
    client = lambda name: session.client(name, endpoint_url=args.endpoint)  # noqa: E731
    s3, cfn, ec2, rds = client("s3"), client("cloudformation"), client("ec2"), client("rds")
    ssm = client("ssm")

    ensure_bucket(s3, args.bucket)
    code = {}
    for function in FUNCTIONS:
        binary = os.path.join(args.bin_dir, function)
        if not os.access(binary, os.X_OK):
            sys.exit(f"deploy-local: {binary} is missing; build it first (cargo build -p {function})")
        archive = zip_bootstrap(binary)
        key = f"{args.stack_name}/{function}-{hashlib.sha256(archive).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=args.bucket, Key=key, Body=archive)
        code[function] = {"Bucket": args.bucket, "Key": key}
        log(f"deploy-local: s3://{args.bucket}/{key} ({len(archive) / 1e6:.1f} MB)")

    fixtures = network(ec2, rds, f"{args.stack_name}-db")
    body = package(args.template, code)

    # The emulator's Parameter Store has no /aws/reference/secretsmanager/ path: the
    # ownership key goes into a SecureString of its own, as an account could do too.
    key_parameter = f"/{args.stack_name}/ownership-key"
    ssm.put_parameter(
        Name=key_parameter,
        Type="SecureString",
        Value=hashlib.sha256(os.urandom(32)).hexdigest(),
        Overwrite=True,
    )
    params = {
        "LocalEndpointUrl": args.function_endpoint or args.endpoint,
        "DryRun": "false",
        "SubnetGroup": fixtures["subnet_group"],
        "SecurityGroupIds": fixtures["security_group"],
        "OwnershipKeyParameter": key_parameter,
        "RequestSenders": f"arn:aws:iam::000000000000:role/{args.stack_name}-operator",
    }
    for override in args.param:
        key, sep, value = override.partition("=")
        if not sep:
            sys.exit(f"deploy-local: --param {override!r} is not Key=Value")
        params[key] = value
    request = {
        "StackName": args.stack_name,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    }
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        request["TemplateBody"] = body
    else:
        key = f"{args.stack_name}/template.yaml"
        s3.put_object(Bucket=args.bucket, Key=key, Body=body.encode())
        request["TemplateURL"] = f"{args.endpoint.rstrip('/')}/{args.bucket}/{key}"

    started = time.monotonic()
    cfn.create_stack(**request)
    status = "CREATE_IN_PROGRESS"
    while status.endswith("_IN_PROGRESS"):
        if time.monotonic() - started > args.timeout:
            print_events(cfn, args.stack_name)
            sys.exit(f"deploy-local: {args.stack_name} still {status} after {args.timeout:.0f} s")
        time.sleep(0.5)
        stack = cfn.describe_stacks(StackName=args.stack_name)["Stacks"][0]
        status = stack["StackStatus"]
    if status != "CREATE_COMPLETE":
        print_events(cfn, args.stack_name)
        sys.exit(f"deploy-local: {args.stack_name} ended in {status}: {stack.get('StackStatusReason', '')}")
    log(f"deploy-local: {args.stack_name} CREATE_COMPLETE in {time.monotonic() - started:.1f} s")

    resources = cfn.describe_stack_resources(StackName=args.stack_name)["StackResources"]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources}
    functions = {
        "provisioner": physical.get("Provisioner"),
        "alarm-handler": physical.get("AlarmHandler"),
        "pre-scaler": physical.get("PreScaler"),
        "janitor": physical.get("Janitor"),
    }
    json.dump(
        {
            "stack": args.stack_name,
            "outputs": {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])},
            "functions": functions,
            "parameters": params,
            "network": fixtures,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
