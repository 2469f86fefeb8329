-- wrk script: report exact latency percentiles for GET load.
function done(summary, latency, requests)
  io.write(string.format("IPCLAB_LAT p50=%d p99=%d max=%d count=%d\n",
    latency:percentile(50), latency:percentile(99), latency.max, summary.requests))
end
