#!/bin/sh
# Container entrypoint for the worker: `entrypoint.sh node examples/demo/app/worker.mjs`.
#
# ECS (StopTask, a deployment terminating the old task set) sends SIGTERM, then SIGKILL
# after the container's stopTimeout. The worker treats SIGTERM as "stop now" and SIGQUIT
# as "finish the job in hand" (Resque's convention). This shell runs the worker as a
# child and turns the orchestrator's SIGTERM into SIGQUIT, so a deploy drains instead of
# interrupting. Give the container a stopTimeout longer than the longest job.
set -u

"$@" &
child=$!

trap 'kill -QUIT "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT

# `wait` returns early when a trapped signal arrives; wait again until the child is gone,
# then exit with the child's own status.
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
