#!/bin/sh
# ga4kit as a sharded Cloud Run job, started every morning by Cloud Scheduler.
#
# The job runs TASKS copies of the same command; each takes its share of the properties by
# CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT, which ga4kit reads when --shard is not given. GA4's quotas are
# per property, so 4 tasks move 4 times as much. Each task's container starts with an empty disk: the
# incremental state lives in the destination (a spreadsheet here). A task that exits 3 (some properties
# failed, the others written) or 1 is retried up to --max-retries times; a retry re-pulls only the lookback.
set -eu
PROJECT=my-project
REGION=europe-west1
IMAGE=$REGION-docker.pkg.dev/$PROJECT/ga4kit/ga4kit:latest
SERVICE_ACCOUNT=ga4kit-pull@$PROJECT.iam.gserviceaccount.com   # added to each GA4 property as Viewer
OUTPUT="sheets://SPREADSHEET_ID"   # the Sheets destination's URL form
TASKS=4

gcloud builds submit --tag "$IMAGE" .

gcloud run jobs deploy ga4kit-pull --project "$PROJECT" --region "$REGION" --image "$IMAGE" \
  --service-account "$SERVICE_ACCOUNT" --tasks "$TASKS" --parallelism "$TASKS" --max-retries 2 \
  --task-timeout 1h \
  --args="pull,/app/goals.yaml,-o,$OUTPUT,--incremental,-g,day,--quiet,--max-quota-share,0.5"

gcloud scheduler jobs create http ga4kit-pull-daily --project "$PROJECT" --location "$REGION" \
  --schedule "30 5 * * *" --time-zone "Europe/Berlin" --http-method POST \
  --uri "https://run.googleapis.com/v2/projects/$PROJECT/locations/$REGION/jobs/ga4kit-pull:run" \
  --oauth-service-account-email "$SERVICE_ACCOUNT"
