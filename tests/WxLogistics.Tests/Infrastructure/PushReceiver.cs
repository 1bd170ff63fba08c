using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// A merchant's message server: a real HTTP listener on 127.0.0.1 that records every push and answers as told.
/// It can be stopped and started again on the same port (a merchant that is down for a while).
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    readonly int port = FreePort();
    WebApplication? app;

    public ConcurrentQueue<ReceivedPush> Pushes { get; } = new();

    /// <summary>How the receiver answers: (status, body), after an optional delay.</summary>
    public Func<(int Status, string Body)> Answer { get; set; } = () => (200, "success");

    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>The answer's Content-Type and the encoding its text is written in (UTF-8 and none by default).</summary>
    public (string ContentType, System.Text.Encoding Encoding)? AnswerAs { get; set; }

    /// <summary>When set, answers from what was received (a carrier echoing the add_waybill it got).</summary>
    public Func<ReceivedPush, (int Status, string Body)>? Respond { get; set; }

    public string Url => $"http://127.0.0.1:{port}/wx/push";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        app = builder.Build();
        app.MapPost("/wx/push", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var query = http.Request.Query;
            var received = new ReceivedPush(query["signature"].ToString(), query["timestamp"].ToString(), query["nonce"].ToString(), http.Request.ContentType ?? "", body);
            Pushes.Enqueue(received);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay);
            }

            var (status, answer) = Respond is { } respond ? respond(received) : Answer();
            http.Response.StatusCode = status;
            if (AnswerAs is var (contentType, encoding))
            {
                http.Response.ContentType = contentType;
                await http.Response.WriteAsync(answer, encoding);
            }
            else
            {
                await http.Response.WriteAsync(answer);
            }
        });
        await app.StartAsync();
    }

    public async Task StopAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
            app = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed record ReceivedPush(string Signature, string Timestamp, string Nonce, string ContentType, string Body);

public static class Eventually
{
    /// <summary>Waits (real time) until the condition holds; fails with the message after the timeout.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, double seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {seconds} s waiting until {because}");
            await Task.Delay(50);
        }
    }

    public static Task TrueAsync(Func<bool> condition, string because, double seconds = 15) =>
        TrueAsync(() => Task.FromResult(condition()), because, seconds);
}
