#!/bin/sh
# Run by `nc -l -e` / socat for each connection or datagram of the hostfwd checks:
# answers "guest:LINE" and leaves a mark /tmp/echo-$1.
read -r line
echo "guest:$line"
touch "/tmp/echo-$1"
