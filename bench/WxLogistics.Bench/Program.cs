using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Tracking;

// The benchmarks' helper: fills a store through the storage seam (as the server would), checks afterwards that
// every acknowledged event is there, and loads a server at a fixed rate. Its commands and options: Usage below.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Option(string name, string? fallback = null) =>
    options.TryGetValue(name, out var value) ? value : fallback ?? throw new UsageException($"--{name} is required");

T Number<T>(string name, string? fallback = null)
    where T : INumber<T>
{
    var text = Option(name, fallback);
    return T.TryParse(text, CultureInfo.InvariantCulture, out var value) ? value : throw new UsageException($"--{name} takes a number, not '{text}'");
}

var command = args.FirstOrDefault();
if (command is not ("seed" or "verify" or "load") || args.Contains("--help") || args.Contains("-h"))
{
    return Usage(null);
}

try
{
    if (command == "load")
    {
        return await WxLogistics.Bench.FixedRateLoad.RunAsync(
            Uri.TryCreate(Option("url"), UriKind.Absolute, out var url) ? url : throw new UsageException("--url takes an absolute URL"),
            Option("access-token"),
            Option("waybills"),
            Number<double>("rate"),
            TimeSpan.FromSeconds(Number<double>("duration")),
            TimeSpan.FromSeconds(Number<double>("warmup", "5")),
            Number<int>("run", "3"));
    }

    Store store;
    try
    {
        store = StoreFactory.Create(Option("store", StoreFactory.Sqlite), Option("data"), options.GetValueOrDefault("connection"));
    }
    catch (ArgumentException e)
    {
        throw new UsageException(e.Message);
    }

    await using (store)
    {
        await store.MigrateAsync();
        return command == "seed" ? await SeedAsync(store) : await VerifyAsync(store);
    }
}
catch (UsageException e)
{
    return Usage(e.Message);
}
catch (IOException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

async Task<int> SeedAsync(Store store)
{
    var waybills = Number<int>("waybills");
    var eventsPerWaybill = Number<int>("events", "0");
    var output = Option("out");
    Directory.CreateDirectory(output);
    var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    var carrierSecret = Secrets.NewAppSecret();
    var merchantSecret = Secrets.NewAppSecret();
    var carrier = new AppRecord(AppId.New(), AppRole.Carrier, "Bench carrier", DeliveryId.TryParse("BENCH", out var bench) ? bench : default, Secrets.Hash(carrierSecret), now);
    var merchant = new AppRecord(AppId.New(), AppRole.Merchant, "Bench shop", null, Secrets.Hash(merchantSecret), now);
    if (!await store.AddAppAsync(carrier) || !await store.AddAppAsync(merchant))
    {
        Console.Error.WriteLine("the store already has a BENCH carrier; seed an empty store");
        return 1;
    }

    var links = new TrackingLinks(ServerKey.LoadOrCreate(Option("data")), TimeProvider.System);
    var clock = Stopwatch.StartNew();
    await using var list = new StreamWriter(Path.Combine(output, "waybills.tsv"));
    await using var pages = new StreamWriter(Path.Combine(output, "pages.txt"));
    var batch = new List<(WaybillKey, PathEvent)>(4096);
    for (var i = 0; i < waybills; i++)
    {
        var key = new WaybillKey(bench, WaybillId.TryParse($"BW{i:D10}", out var id) ? id : default);
        var token = Secrets.NewToken();
        await store.AddWaybillAsync(new WaybillRecord(key, Secrets.Hash(token), merchant.AppId, $"order-{i}", $"openid-{i}", 0, now));
        await list.WriteLineAsync($"{key.WaybillId}\t{token}\torder-{i}\topenid-{i}");
        await pages.WriteLineAsync(links.Create(key, TimeSpan.FromDays(1)).Path);
        for (var e = 0; e < eventsPerWaybill; e++)
        {
            batch.Add((key, new PathEvent(1533052800 + e, e == 0 ? 100001 : 200001, $"快件已到达第{e}站，联系电话18666666666")));
            if (batch.Count == batch.Capacity)
            {
                await store.AppendEventsAsync(batch, now * 1000);
                batch.Clear();
            }
        }

        if ((i + 1) % 10_000 == 0)
        {
            Console.Error.WriteLine($"seeded {i + 1:N0} of {waybills:N0} waybills ({clock.Elapsed.TotalSeconds:0} s)");
        }
    }

    if (batch.Count > 0)
    {
        await store.AppendEventsAsync(batch, now * 1000);
    }

    var apps = new { carrier_appid = carrier.AppId.Value, carrier_secret = carrierSecret, merchant_appid = merchant.AppId.Value, merchant_secret = merchantSecret };
    await File.WriteAllTextAsync(Path.Combine(output, "apps.json"), JsonSerializer.Serialize(apps));
    Console.Error.WriteLine($"seeded {waybills:N0} waybills with {eventsPerWaybill} events each in {clock.Elapsed.TotalSeconds:0.0} s");
    return 0;
}

async Task<int> VerifyAsync(Store store)
{
    var expect = Number<long>("expect");
    long stored = 0;
    foreach (var line in await File.ReadAllLinesAsync(Option("waybills")))
    {
        var id = line.Split('\t')[0];
        if (DeliveryId.TryParse("BENCH", out var bench) && WaybillId.TryParse(id, out var waybill))
        {
            stored += (await store.ReadPathAsync(new WaybillKey(bench, waybill))).Count;
        }
    }

    Console.WriteLine($"stored events: {stored:N0}; acknowledged with errcode 0 (plus seeded): {expect:N0}");
    if (stored < expect)
    {
        Console.WriteLine($"LOST: {expect - stored:N0} acknowledged events are not in the store");
        return 1;
    }

    return 0;
}

static int Usage(string? error)
{
    if (error is not null)
    {
        Console.Error.WriteLine($"error: {error}");
    }

    Console.Error.WriteLine("""
        usage:
          seed   --store sqlite|postgres --data DIR [--connection CS] --waybills N [--events K] --out DIR
          verify --store sqlite|postgres --data DIR [--connection CS] --waybills FILE --expect N
          load   --url URL --access-token T --waybills FILE --rate R --duration S [--warmup S] [--run N]
        """);
    return 2;
}

/// <summary>A command line the helper cannot run: missing or malformed options.</summary>
sealed class UsageException(string message) : Exception(message);
