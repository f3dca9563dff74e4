"""A local S3-compatible object store for the tests: moto in server mode,
with Signature Version 4 checked (a wrongly signed request is refused, as by
AWS, MinIO or Garage).

    python moto_s3.py --port PORT --bucket NAME

Prints one JSON line, {"endpoint", "bucket", "region", "access_key",
"secret_key"}, once the bucket exists, then serves until killed. Listens on
127.0.0.1 only.
"""

import argparse
import json
import os
import sys
import time

# moto checks signatures only after this many requests: the first three
# create the user, its key and its permission (there is no key before).
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bucket", default="media")
    args = p.parse_args()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{args.port}"
    region = "us-east-1"
    boot = dict(endpoint_url=endpoint, region_name=region,
                aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam = boto3.client("iam", **boot)
    iam.create_user(UserName="intercoop")
    key = iam.create_access_key(UserName="intercoop")["AccessKey"]
    iam.put_user_policy(
        UserName="intercoop",
        PolicyName="media",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }),
    )
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                      aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"])
    s3.create_bucket(Bucket=args.bucket)
    print(json.dumps({
        "endpoint": endpoint,
        "bucket": args.bucket,
        "region": region,
        "access_key": key["AccessKeyId"],
        "secret_key": key["SecretAccessKey"],
    }), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
