#!/bin/sh
# Writes /conf/redis.conf and /conf/sentinel.conf for this pod of the Redis set. The
# master is the one the sentinels name; when none answers (the whole set starts), it is
# redis-0. Sentinel rewrites both files on a failover, so they live on an emptyDir.
set -eu
domain="redis-headless.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN}"
me="$(hostname).${domain}"
master=$(timeout 5 redis-cli -h redis-sentinel -p 26379 --raw \
    sentinel get-master-addr-by-name mati 2>/dev/null | head -n 1) || master=""
case $master in
"" | ERR* | *" "*) master="redis-0.${domain}" ;;
esac
echo "this pod: ${me}; master: ${master}"

cp /config/redis.conf /conf/redis.conf
echo "replica-announce-ip ${me}" >>/conf/redis.conf
if [ "$master" != "$me" ]; then
    echo "replicaof ${master} 6379" >>/conf/redis.conf
fi

cat >/conf/sentinel.conf <<CONF
port 26379
dir /conf
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${me}
sentinel monitor mati ${master} 6379 2
sentinel down-after-milliseconds mati 5000
sentinel failover-timeout mati 60000
sentinel parallel-syncs mati 1
CONF
