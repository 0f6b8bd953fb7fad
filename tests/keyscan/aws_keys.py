"""Reads the raw bytes of every key in the AWS suite's directory store
(wrapper aws_kms): mysql-test/keyring_locker_aws/aws_check.py dump unwraps
each file with boto3 against moto (it needs moto's venv, hence a child
process; the bytes come through a pipe, never a file). Needs KLK_AWS_DIR
and KLK_AWS_KEYS_DIR (scripts/mtr.sh).
"""
import json
import os
import subprocess

from search import Secret

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "mysql-test", "keyring_locker_aws",
                       "aws_check.py")


class AwsError(Exception):
    pass


def fetch_aws_keys():
    """[Secret] for every key version of every scope of the store."""
    try:
        r = subprocess.run(["/usr/bin/python3", CHECKER, "dump"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AwsError(f"aws_check.py dump did not run: {type(e).__name__}") from None
    if r.returncode != 0:
        raise AwsError(f"aws_check.py dump failed: {r.stderr.strip()[-300:]}")
    secrets = []
    for line in r.stdout.splitlines():
        item = json.loads(line)
        secrets.append(Secret(item["label"], bytes.fromhex(item["hex"]), "key"))
    return secrets
