#!/usr/bin/env bash
# make demo: start the bundled emulator with representative data and run
# the main job against it. Until the copy engine lands, the "job" is a
# tour: shuffle's own SDK probe, then the real AWS CLI on the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin/shuffle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-demo.XXXXXX")
LOG="$DIR/testenv.log"

"$BIN" testenv up --dir "$DIR" --addr 127.0.0.1:0 --recovery-points 5000 >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "testenv ready" "$LOG" 2>/dev/null && break
  kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.1
done
cat "$LOG"
echo
echo "== shuffle testenv probe (aws-sdk-go-v2, using only $DIR/env)"
"$BIN" testenv probe --dir "$DIR"
echo
# shellcheck disable=SC1091
. "$DIR/env"
if command -v aws >/dev/null 2>&1; then
  echo "== the AWS CLI against the same files ($(aws --version 2>&1))"
  set -x
  aws --profile source sts get-caller-identity --output text
  aws --profile source backup list-backup-vaults --output table \
    --query 'BackupVaultList[].{Vault:BackupVaultName,Type:VaultType,Locked:Locked,RPs:NumberOfRecoveryPoints}'
  aws --profile source backup list-recovery-points-by-backup-vault --backup-vault-name prod-rds-daily \
    --page-size 7 --max-items 5 --output table \
    --query 'RecoveryPoints[].{Type:ResourceType,Status:Status,Bytes:BackupSizeInBytes,Resource:ResourceArn}'
  aws --profile source-readonly backup start-copy-job --recovery-point-arn arn:aws:ec2:us-east-1::snapshot/snap-0 \
    --source-backup-vault-name prod-ebs-daily --destination-backup-vault-arn arn:aws:backup:us-east-1:222222222222:backup-vault:prod-ebs-daily \
    --iam-role-arn arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole || true
  set +x
else
  echo "(the AWS CLI is not installed; skipping the CLI part of the demo)"
fi
echo
echo "demo done; the emulator's files are in $DIR"
