using WxLogistics.Storage;

namespace WxLogistics.Operability;

/// <summary>A call inspector entry as operators see it (snake_case JSON; time in Unix milliseconds).</summary>
public sealed record CallView(long At, string Api, string? WaybillId, int Errcode, string? Reason, string? Rid)
{
    public static CallView From(CallRecord call) => new(call.AtMs, call.Api, call.WaybillId, call.ErrCode, call.Reason, call.Rid);

    /// <summary>A table for people: China time, API, waybill, errcode, rid, reason.</summary>
    public static string Table(IReadOnlyList<CallView> calls) =>
        Cli.OperatorTable.Render(
            ["time (UTC+8)", "api", "waybill", "errcode", "rid", "reason"],
            calls.Select(v => new[]
            {
                Cli.OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeMilliseconds(v.At)), v.Api, v.WaybillId,
                v.Errcode.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Rid, v.Reason ?? "ok",
            }));
}

public sealed record CallList(IReadOnlyList<CallView> Calls);
