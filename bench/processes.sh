# Sourced by the bench scripts that start the mock and the gateway themselves: the processes they
# started (`pids`), stopping them, and waiting until a port accepts connections.

pids=()

# Stops every process in `pids`.
stop_started() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }

# Waits up to 10 s for 127.0.0.1:$1 to accept a connection.
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
