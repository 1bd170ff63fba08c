using System.CommandLine;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Operability;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Cli;

/// <summary>`calls list`: the call inspector: an app's recent calls, and why each was rejected.</summary>
static class CallCommands
{
    public static Command Create(StoreArguments storeArguments, TextWriter output)
    {
        var appId = new Option<string>("--appid") { Description = "The app whose calls to show.", Required = true };
        var waybillId = new Option<string?>("--waybill-id") { Description = "Only calls about this waybill." };
        var errcode = new Option<int?>("--errcode") { Description = "Only calls answered with this errcode (0 for successes).", CustomParser = OperatorCli.WholeNumber };
        var rid = new Option<string?>("--rid") { Description = "The call whose errmsg ended in this rid." };
        var limit = OperatorCli.WholeNumberOption("--limit", "How many of the most recent (1 to 1000).", 50);
        var json = OperatorTable.JsonOption("{calls:[…]}");
        var list = new Command("list", "An app's most recent calls, newest first: time, API, waybill, errcode, rid and the reason of a rejection.")
        {
            appId, waybillId, errcode, rid, limit, json,
        };
        list.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (!AppId.TryParse(parsed.GetValue(appId), out var app))
            {
                throw new OperatorException($"--appid '{parsed.GetValue(appId)}' is not an AppID");
            }

            if (parsed.GetValue(limit) is < 1 or > CallInspector.KeepPerApp)
            {
                throw new OperatorException($"--limit must be from 1 to {CallInspector.KeepPerApp}");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            await OperatorCli.RequireAppAsync(store, app, cancellationToken);

            var calls = await store.ListCallsAsync(
                new CallFilter(app, parsed.GetValue(waybillId), parsed.GetValue(errcode), parsed.GetValue(rid), parsed.GetValue(limit)), cancellationToken);
            var views = calls.Select(CallView.From).ToList();
            await output.WriteAsync(parsed.GetValue(json)
                ? JsonSerializer.Serialize(new CallList(views), WireJson.Options) + Environment.NewLine
                : CallView.Table(views));
        }));

        return new Command("calls", "The call inspector.") { list };
    }
}
