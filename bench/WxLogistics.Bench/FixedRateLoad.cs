using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace WxLogistics.Bench;

/// <summary>
/// updatePath at a fixed rate, however long the answers take: an open loop. wrk's connections each wait for their
/// answer before they send again, so wrk always loads the server as much as it can take; this measures the latency a
/// carrier sees at a given load. Requests leave on a schedule of one every 1/rate seconds, checked every
/// millisecond or so (the timer's resolution), so several may leave together; each one's latency runs from when it
/// was sent to when its answer was read. Each request carries a new event, as bench/update.lua's do, numbered in a
/// range of its own: --run N, from N × 10⁹ for the warm-up and N × 10⁹ + 10⁸ for the measured part (wrk's runs 1 and
/// 2 use 1.0–1.2 × 10⁹ and 2.0–2.2 × 10⁹).
/// Prints one RESULT line in bench/common.lua's form, plus p99.9 and how far the sending fell behind its schedule;
/// acked counts the warm-up's answers with errcode 0 too, since their events are stored as well.
/// </summary>
static class FixedRateLoad
{
    const string Path = "/cgi-bin/express/delivery/path/update?access_token=";

    public static async Task<int> RunAsync(
        Uri server, string accessToken, string waybillsFile, double rate, TimeSpan duration, TimeSpan warmup, int run)
    {
        var waybills = File.ReadLines(waybillsFile).Select(line => line.Split('\t')).Select(f => (Id: f[0], Token: f[1])).ToArray();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var path = Path + Uri.EscapeDataString(accessToken);
        var firstEvent = run * 1_000_000_000L;

        var warm = await SendAsync(client, path, waybills, firstEvent, rate, warmup);
        var measured = await SendAsync(client, path, waybills, firstEvent + 100_000_000, rate, duration);

        var answered = measured.Latencies.Where(l => l >= 0).Order().ToArray();
        double Percentile(double p) =>
            answered.Length == 0 ? double.NaN : answered[Math.Min(answered.Length - 1, (int)Math.Ceiling(p / 100 * answered.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"RESULT requests_per_s={answered.Length / duration.TotalSeconds:0} p50_ms={Percentile(50):0.00} p99_ms={Percentile(99):0.00} " +
            $"p999_ms={Percentile(99.9):0.00} acked={warm.Acked + measured.Acked} errors={warm.Errors + measured.Errors} " +
            $"behind_ms={measured.MostBehind * 1000.0 / Stopwatch.Frequency:0.0}"));
        return 0;
    }

    sealed class Outcome(int requests)
    {
        public readonly long[] Latencies = new long[requests];
        public long Acked;
        public long Errors;
        public long MostBehind;
    }

    static async Task<Outcome> SendAsync(
        HttpClient client, string path, (string Id, string Token)[] waybills, long firstEvent, double rate, TimeSpan duration)
    {
        var requests = (int)(rate * duration.TotalSeconds);
        var outcome = new Outcome(requests);
        var ticksApart = Stopwatch.Frequency / rate;
        // Requests not answered yet, plus one until the last is sent. Their tasks are not kept: tens of thousands of
        // them alive only give the collector more to go through while the schedule waits.
        using var pending = new CountdownEvent(1);

        // The schedule is kept by a thread of its own, which sleeps between sends, so that answers being read on the
        // thread pool do not delay it.
        var scheduler = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            for (var sent = 0; sent < requests;)
            {
                var now = Stopwatch.GetTimestamp();
                for (; sent < requests && start + (long)(sent * ticksApart) <= now; sent++)
                {
                    outcome.MostBehind = Math.Max(outcome.MostBehind, now - (start + (long)(sent * ticksApart)));
                    pending.AddCount();
                    _ = SendOneAsync(client, path, waybills, firstEvent + sent + 1, outcome, sent, pending);
                }

                Thread.Sleep(1);
            }

            pending.Signal();
        })
        { Name = "schedule" };
        scheduler.Start();
        await Task.Run(() =>
        {
            scheduler.Join();
            pending.Wait();
        });
        return outcome;
    }

    static async Task SendOneAsync(
        HttpClient client, string path, (string Id, string Token)[] waybills, long n, Outcome outcome, int index, CountdownEvent pending)
    {
        var (id, token) = waybills[n % waybills.Length];
        var body = string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"token\":\"{token}\",\"waybill_id\":\"{id}\",\"action_time\":{1600000000 + n % 100000000},\"action_type\":200001,\"action_msg\":\"快件已到达第{n}站，联系电话18666666666\"}}");
        var began = Stopwatch.GetTimestamp();
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(path, content);
            var answer = await response.Content.ReadAsStringAsync();
            outcome.Latencies[index] = Stopwatch.GetTimestamp() - began;
            Interlocked.Increment(ref response.IsSuccessStatusCode && answer.Contains("\"errcode\":0", StringComparison.Ordinal) ? ref outcome.Acked : ref outcome.Errors);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            outcome.Latencies[index] = -1;
            Interlocked.Increment(ref outcome.Errors);
        }
        finally
        {
            pending.Signal();
        }
    }
}
