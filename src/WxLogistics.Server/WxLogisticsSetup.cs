using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using WxLogistics.AccessToken;
using WxLogistics.Admin;
using WxLogistics.Apps;
using WxLogistics.BusinessPath;
using WxLogistics.CloudGateway;
using WxLogistics.DeliveryPath;
using WxLogistics.Operability;
using WxLogistics.Orders;
using WxLogistics.Push;
using WxLogistics.Storage;
using WxLogistics.Tracking;
using WxLogistics.Wire;

namespace WxLogistics;

public static class WxLogisticsSetup
{
    static bool hostStarted;

    /// <summary>The command-line switches of the server beside ASP.NET's own (--urls, --environment, …).</summary>
    static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--data"] = $"{WxLogisticsOptions.Section}:{nameof(WxLogisticsOptions.DataDirectory)}",
        ["--store"] = $"{WxLogisticsOptions.Section}:{nameof(WxLogisticsOptions.Store)}",
        ["--connection"] = $"{WxLogisticsOptions.Section}:{nameof(WxLogisticsOptions.Connection)}",
    };

    static readonly HashSet<string> KnownSwitches = new(StringComparer.OrdinalIgnoreCase)
    {
        "--data", "--store", "--connection", "--urls", "--environment", "--contentRoot", "--applicationName", "--http_ports", "--https_ports", "--webroot",
        "--detailedErrors", "--shutdownTimeoutSeconds", "--hostBuilder", "--preventHostingStartup", "--hostingStartupAssemblies",
        "--hostingStartupExcludeAssemblies", "--WxLogistics", "--Logging", "--Kestrel", "--AllowedHosts",
    };

    /// <summary>A switch this server does not know, such as a misspelled --data; configuration keys (with a colon) pass.</summary>
    public static string? FindUnknownSwitch(string[] args) =>
        args.FirstOrDefault(a => a.StartsWith("--", StringComparison.Ordinal) && !a.Contains(':') && !KnownSwitches.Contains(a.Split('=')[0]));

    /// <summary>
    /// A word the server would ignore: neither a switch, nor a switch's value, nor key=value (ASP.NET's command line skips
    /// such words silently, so an operator verb put after --data would start a server instead of running).
    /// </summary>
    public static string? FindStrayArgument(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith('-') || arg.StartsWith('/'))
            {
                if (!arg.Contains('='))
                {
                    i++; // the switch's value
                }
            }
            else if (!arg.Contains('='))
            {
                return arg;
            }
        }

        return null;
    }

    /// <summary>
    /// What is wrong with the first address of <paramref name="urls"/> (--urls, ASPNETCORE_URLS; separated by ';')
    /// whose port is not one: Kestrel ends with an unhandled exception on a port past 65535, and takes a port that is
    /// not a number for part of the host name, so that <c>http://127.0.0.1:8O8O</c> would serve on port 80 of every
    /// interface. Null when every port is a number from 0 (any free port) to 65535, or left out.
    /// </summary>
    public static string? FindBadPort(string? urls)
    {
        foreach (var address in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var start = address.IndexOf("://", StringComparison.Ordinal);
            if (start < 0)
            {
                continue; // Kestrel refuses it with a message of its own.
            }

            var authority = address[(start + 3)..];
            authority = authority.IndexOf('/') is var slash and >= 0 ? authority[..slash] : authority;
            if (authority.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || authority.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
            {
                continue; // a Unix socket or a named pipe, named by the path that follows
            }

            var hostEnd = authority.StartsWith('[') ? authority.IndexOf(']') + 1 : authority.LastIndexOf(':');
            if (hostEnd <= 0 || hostEnd >= authority.Length || authority[hostEnd] != ':')
            {
                continue; // no port: 80 or 443
            }

            var port = authority[(hostEnd + 1)..];
            if (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) > 65535)
            {
                return $"the port of {address} is '{port}': a port is a number from 0 (any free port) to 65535";
            }
        }

        return null;
    }

    /// <summary>
    /// The first whole-number setting of <see cref="WxLogisticsOptions"/> given as something else: binding would stop the
    /// start with "Failed to convert configuration value … to type 'System.Int32'". Null when there is none.
    /// </summary>
    public static string? FindBadNumber(IConfiguration configuration)
    {
        foreach (var property in typeof(WxLogisticsOptions).GetProperties().Where(p => p.PropertyType == typeof(int)))
        {
            var key = $"{WxLogisticsOptions.Section}:{property.Name}";
            if (configuration[key] is { Length: > 0 } text
                && !int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                return $"{key} must be a whole number, not '{text}'";
            }
        }

        return null;
    }

    public static WebApplicationBuilder AddWxLogistics(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, SwitchMappings);

        // Request lines carry access_tokens in their query: ASP.NET's own request logging stays off.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        // The host logs a failed start with its stack trace; RunOrExplainAsync explains it in one line instead. Once
        // started, the host's warnings and errors (a background service that failed) are logged as usual.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => Volatile.Read(ref hostStarted) && level >= LogLevel.Warning);
        // Hosting's diagnostics log only while the server starts (a failed start, an overridden address); after that
        // only per-request lines, which stay off. A logger enabled for it at any level makes hosting create an Activity
        // and a logging scope for every request, about a tenth of what a request allocates: so none once started.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", level => !Volatile.Read(ref hostStarted) && level >= LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
        });

        var services = builder.Services;
        services.AddOptions<WxLogisticsOptions>().BindConfiguration(WxLogisticsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WxLogisticsOptions>, WxLogisticsOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WxLogisticsOptions>>().Value;
            return StoreFactory.Create(options.Store, options.DataDirectory, options.Connection, options.MaxEventsPerWaybill);
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WxLogisticsOptions>>().Value;
            return Storage.Sqlite.ServerLock.Acquire(options.Store, options.DataDirectory);
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WxLogisticsOptions>>().Value;
            return options.ServerKey is { } key ? ServerKey.FromBase64(key) : ServerKey.LoadOrCreate(options.DataDirectory);
        });
        services.AddSingleton<GroupCommit>();
        services.AddSingleton<RequestErrorLog>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton<CallQuotas>();
        services.AddSingleton<WxApiCatalog>();
        services.AddSingleton<WaybillTokens>();
        services.AddSingleton<PathUpdates>();
        services.AddSingleton<PathQueries>();
        services.AddSingleton<CloudCalls>();
        services.AddSingleton<TrackingLinks>();
        services.AddSingleton<TrackingLinkRequests>();
        services.AddSingleton(sp => AdminKey.Load(
            sp.GetRequiredService<IOptions<WxLogisticsOptions>>().Value, sp.GetRequiredService<ILoggerFactory>().CreateLogger("WxLogistics.Admin")));
        services.AddSingleton<StoreStartup>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreStartup>());
        services.AddHttpClient(PushDelivery.HttpClientName, client => client.Timeout = PushDelivery.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
        services.AddHostedService<PushDelivery>();
        services.AddHttpClient(OrderPlacement.HttpClientName, client => client.Timeout = OrderPlacement.CarrierTimeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(3) });
        services.AddSingleton<OrderPlacement>();
        services.AddSingleton<OrderQueries>();
        services.AddSingleton<QuotaQueries>();
        services.AddSingleton<AccountBinding>();
        services.AddSingleton<WxMetrics>();
        services.AddSingleton<CallInspector>();
        services.AddHostedService(sp => sp.GetRequiredService<CallInspector>());
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        services.AddOpenApi(openApi => openApi.AddJsonBodies().AddQueryIntegers().AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "WxLogistics";
            document.Info.Description = "WeChat's logistics path APIs (物流助手), as served by WxLogistics. See README.md and docs/errors.md.";
            return Task.CompletedTask;
        }));
        services.AddHostedService<HealthApi.StoreStatistics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(WxMetrics.MeterName)
            .AddAspNetCoreInstrumentation()
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>Every failure answers in WeChat's shape: an unexpected one is -1 "system error", never a stack trace.</summary>
    public static WebApplication UseWxLogistics(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = async http =>
            {
                var feature = http.Features.Get<IExceptionHandlerFeature>();
                var reply = WxReply.Error(WxErrors.SystemError);
                http.RequestServices.GetRequiredService<RequestErrorLog>()
                    .Failed(feature?.Error ?? new InvalidOperationException("no exception"), http.Request.Path, reply.ErrMsg);
                http.Response.StatusCode = StatusCodes.Status200OK;
                http.Response.ContentType = "application/json; charset=utf-8";
                await http.Response.Body.WriteAsync(reply.ToJsonBytes());
            },
            // Logged just above, with the rid of the answer; the middleware's own entry would repeat the trace.
            SuppressDiagnosticsCallback = _ => true,
        });
        // A status the framework sets without a body (a method a route does not take, a body over Kestrel's limit)
        // still answers in the envelope.
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var error = http.Response.StatusCode switch
            {
                StatusCodes.Status405MethodNotAllowed => WxErrors.RequirePost,
                StatusCodes.Status413PayloadTooLarge => WxErrors.ArgSizeExceedLimit,
                StatusCodes.Status404NotFound => WxErrors.InvalidUrl,
                _ => WxErrors.SystemError,
            };
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.Body.WriteAsync(WxReply.Error(error).ToJsonBytes());
        });
        return app;
    }

    /// <summary>Unknown paths get WeChat's 40066 "invalid url" in the usual envelope.</summary>
    public static WebApplication MapInvalidUrl(this WebApplication app)
    {
        app.MapFallback(async (HttpContext http) =>
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.Body.WriteAsync(WxReply.Error(WxErrors.InvalidUrl).ToJsonBytes());
        });
        return app;
    }

    /// <summary>Starts the server; a bad setting or an address that cannot be bound ends it with a message, not a trace.</summary>
    public static async Task<int> RunOrExplainAsync(this WebApplication app)
    {
        try
        {
            await app.StartAsync();
            Volatile.Write(ref hostStarted, true);
        }
        catch (OptionsValidationException e)
        {
            await Console.Error.WriteLineAsync($"wxlogistics: invalid configuration: {string.Join("; ", e.Failures)}");
            return 2;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException or UriFormatException or ArgumentException
            or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"wxlogistics: cannot start: {Storage.Sqlite.SqliteStore.Describe(e)}");
            return 1;
        }

        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// Applies the schema before the server takes requests. <see cref="Begin"/> starts it as soon as the host is built
    /// (Program.cs), so that the store's first connection and schema check (0.3-0.45 s on PostgreSQL, mostly code run
    /// for the first time) overlap the mapping of the endpoints and the host's own start on the other core.
    /// StartAsync waits for it: no request is served before it is done, and its failure stops the start as before.
    /// </summary>
    public sealed class StoreStartup(IServiceProvider services) : IHostedService
    {
        Task? migration;

        public void Begin() => migration ??= Task.Run(async () =>
        {
            services.GetRequiredService<Storage.Sqlite.ServerLock>();
            // Resolving the keys creates them at first start, so that their files are there before anyone needs them,
            // and a key file that cannot be used stops the start rather than the first request that signs with it.
            services.GetRequiredService<ServerKey>();
            services.GetRequiredService<AdminKey>();
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("WxLogistics.Storage");
            await services.GetRequiredService<Store>().MigrateAsync(script => logger.LogInformation(
                "Upgrading the store: applying {Script}; on a large store this can take minutes, and the server answers once it is done", script));
        });

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Begin();
            return migration!.WaitAsync(cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
