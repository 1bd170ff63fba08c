using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// The real server executable in a process of its own on 127.0.0.1, as a newcomer or an operator runs it.
/// Stopped by its own PID when disposed.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    ServerProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>The server's assembly, as built beside the tests.</summary>
    public static string ServerAssembly => typeof(Program).Assembly.Location;

    public static Task<ServerProcess> StartAsync(string dataDirectory, params string[] extraArgs) =>
        StartAsync(["--data", dataDirectory, .. extraArgs]);

    public static Task<ServerProcess> StartAsync(TestStore store, params string[] extraArgs) =>
        StartAsync([.. store.Args, .. extraArgs]);

    /// <summary>
    /// The server with no file of its own allowed to grow past <paramref name="bytes"/> (the soft RLIMIT_FSIZE, with
    /// SIGXFSZ ignored, so that a write past it fails as on a full disk) until <see cref="LiftFileSizeLimit"/>.
    /// </summary>
    public static Task<ServerProcess> StartWithFileSizeLimitAsync(TestStore store, long bytes) =>
        StartAsync([.. store.Args], FileSizeLimit(bytes));

    /// <summary>
    /// A launcher under which no file of the process can grow past <paramref name="bytes"/>. exec keeps the PID, so
    /// the limit can be lifted later; an ignored signal stays ignored across exec. The runtime's double-mapped code
    /// pages live in a file of their own, which the limit would refuse.
    /// </summary>
    static string[] FileSizeLimit(long bytes) =>
    [
        "bash", "-c", "trap '' XFSZ; ulimit -S -f \"$0\" && DOTNET_EnableWriteXorExecute=0 exec dotnet \"$@\"",
        (bytes / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    /// <summary>
    /// Runs the executable to its end with its data directory on a full disk: a small tmpfs, filled, mounted over a new
    /// directory in a mount namespace of its own (unshare), so that no one else sees it and it goes with the process.
    /// Returns the exit code, what it said, and the names of the files it left in the data directory.
    /// </summary>
    /// <param name="args">The executable's arguments, without --data.</param>
    /// <param name="prepare">Shell commands run in the data directory ("$1") before the disk is filled.</param>
    public static async Task<(int ExitCode, string Output, string Error, string[] Left)> RunOnFullDiskAsync(string[] args, string prepare = "")
    {
        const string Left = "--- left in the data directory:";
        using var process = Start([ServerAssembly, .. args], [
            "unshare", "--mount", "bash", "-c",
            "mount -t tmpfs -o size=64k tmpfs \"$0\" || exit 99; mkdir \"$0/data\"; " +
            $"(set -- \"$0/data\"; {(prepare.Length > 0 ? prepare : ":")}) || exit 98; " +
            "head -c 1048576 /dev/zero > \"$0/filler\" 2>/dev/null; " +
            $"dotnet \"$@\" --data \"$0/data\"; code=$?; echo '{Left}'; ls -A \"$0/data\" 2>/dev/null; exit $code",
            TempDirectory.Create(),
        ]);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await WaitOrKillAsync(process);
        TestRun.Log(await error);
        var parts = (await output).Split(Left);
        Assert.True(parts.Length == 2, $"the full disk could not be made (exit {process.ExitCode}): {await error}");
        return (process.ExitCode, parts[0], await error, parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    static async Task<ServerProcess> StartAsync(string[] args, IReadOnlyList<string>? launcher = null)
    {
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var process = Start([ServerAssembly, "--urls", baseAddress.ToString(), .. args], launcher);
        var server = new ServerProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with {process.ExitCode}: {server.Output}");
            }

            try
            {
                using var response = await client.GetAsync("/cgi-bin/token");
                return server;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or slow to answer its first request on a busy machine: ask again until the deadline.
                await Task.Delay(50);
            }
        }

        await server.DisposeAsync();
        throw new TimeoutException($"the server did not answer within 30 s: {server.Output}");
    }

    /// <summary>Runs the executable to its end (a bad start, an operator verb) and returns what it said.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunToEndAsync(params string[] args) => RunToEndAsync(args, null);

    /// <summary>The same with no file of the process allowed to grow past <paramref name="bytes"/>, as on a full disk.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunToEndWithFileSizeLimitAsync(long bytes, params string[] args) =>
        RunToEndAsync(args, FileSizeLimit(bytes));

    static async Task<(int ExitCode, string Output, string Error)> RunToEndAsync(string[] args, IReadOnlyList<string>? launcher)
    {
        using var process = Start([ServerAssembly, .. args], launcher);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await WaitOrKillAsync(process);
        TestRun.Log(await error);
        if ((await output).TrimStart().StartsWith('{'))
        {
            TestRun.RecordSecrets(System.Text.Json.JsonDocument.Parse(await output).RootElement);
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Runs the executable to its end in a terminal of its own, as an operator at a shell does: a pseudo-terminal made by
    /// util-linux's <c>script</c>, an xterm by its TERM. Returns the exit code and what the terminal showed, stdout and
    /// stderr together, with its escape sequences.
    /// </summary>
    public static async Task<(int ExitCode, string Screen)> RunInTerminalAsync(params string[] args)
    {
        using var process = Start([ServerAssembly, .. args], [
            "bash", "-c", "TERM=xterm-256color exec script --quiet --return --command \"$(printf '%q ' dotnet \"$@\")\" /dev/null < /dev/null", "terminal",
        ]);
        var screen = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await WaitOrKillAsync(process);
        Assert.True((await error).Length == 0, $"the terminal could not be made: {await error}");
        TestRun.Log(await screen);
        return (process.ExitCode, await screen);
    }

    /// <summary>Runs the executable and presses Ctrl-C (SIGINT to its PID) once <paramref name="when"/> holds.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunAndInterruptAsync(Func<bool> when, params string[] args) =>
        RunAndInterruptAsync(_ => when(), args);

    /// <summary>As above, with <paramref name="when"/> given the process id (to look at what it has open).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAndInterruptAsync(Func<int, bool> when, params string[] args)
    {
        using var process = Start([ServerAssembly, .. args]);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!when(process.Id) && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        // It may end between the look and the signal; only a live process that refuses the signal is a failure.
        if (!process.HasExited && Interrupt(process.Id, Sigint) != 0)
        {
            Assert.True(process.HasExited, $"SIGINT to {process.Id} failed");
        }

        await WaitOrKillAsync(process);
        TestRun.Log(await error);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// As above, for a verb whose work Ctrl-C must cut short. On a busy machine the test may notice
    /// <paramref name="when"/> too late, after the verb has done all its work (exit 0); then <paramref name="undo"/>
    /// puts back what it did and it runs again, up to three times, so that what the caller checks is a run that Ctrl-C
    /// stopped (or the third that it did not, which fails the caller's checks).
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> InterruptUntilCutShortAsync(Func<int, bool> when, Func<Task> undo, params string[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            var run = await RunAndInterruptAsync(when, args);
            if (run.ExitCode != 0 || attempt == 3)
            {
                return run;
            }

            TestRun.Log($"the run ended before Ctrl-C landed (attempt {attempt}); running it again");
            await undo();
        }
    }

    /// <summary>Waits up to a minute for the process to end; one that does not is killed, so that no test leaves it running.</summary>
    static async Task WaitOrKillAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"`{string.Join(' ', process.StartInfo.ArgumentList)}` did not end within 60 s and was killed");
        }
    }

    const int Sigint = 2;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Interrupt(int pid, int signal);

    /// <summary>
    /// SIGTERM, as a service manager or a container runtime stops it, then waits for it to end (killed after a minute);
    /// returns its exit code and how long it took.
    /// </summary>
    public async Task<(int ExitCode, TimeSpan Took)> StopAsync()
    {
        var started = Stopwatch.StartNew();
        Assert.Equal(0, Interrupt(process.Id, Sigterm));
        await WaitOrKillAsync(process);
        return (process.ExitCode, started.Elapsed);
    }

    const int Sigterm = 15;

    /// <summary>SIGKILL: the process ends at once, mid-request, without any shutdown work.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Lets the server's files grow again (see <see cref="StartWithFileSizeLimitAsync"/>): room returns.</summary>
    public void LiftFileSizeLimit() => SetFileSizeLimit(ulong.MaxValue);

    /// <summary>
    /// No write at all succeeds (the soft limit at 0 bytes): not even one that a checkpoint's freed pages would take,
    /// so that a full disk stays full.
    /// </summary>
    public void RefuseEveryWrite() => SetFileSizeLimit(0);

    void SetFileSizeLimit(ulong bytes)
    {
        var limit = new ResourceLimit(bytes, ulong.MaxValue);
        Assert.True(SetResourceLimit(process.Id, ResourceFileSize, ref limit, IntPtr.Zero) == 0, "prlimit failed");
    }

    const int ResourceFileSize = 1; // RLIMIT_FSIZE

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    readonly record struct ResourceLimit(ulong Current, ulong Maximum);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    static extern int SetResourceLimit(int pid, int resource, ref ResourceLimit limit, IntPtr previous);

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        TestRun.Log(Output);
    }

    /// <summary>Starts `dotnet` with <paramref name="args"/>, or <paramref name="launcher"/>, a command that runs `dotnet "$@"`.</summary>
    static Process Start(IEnumerable<string> args, IReadOnlyList<string>? launcher = null)
    {
        var info = new ProcessStartInfo(launcher?[0] ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in launcher?.Skip(1) ?? [])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";

        // Far from China: whatever the server shows in China time must not depend on its own zone.
        info.Environment["TZ"] = "America/Los_Angeles";
        return Process.Start(info)!;
    }

    void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
