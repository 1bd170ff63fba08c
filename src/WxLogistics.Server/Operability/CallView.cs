using System.Globalization;
using System.Text;
using WxLogistics.Storage;

namespace WxLogistics.Operability;

/// <summary>A call inspector entry as operators see it (snake_case JSON; time in Unix milliseconds).</summary>
public sealed record CallView(long At, string Api, string? WaybillId, int Errcode, string? Reason, string? Rid)
{
    public static CallView From(CallRecord call) => new(call.AtMs, call.Api, call.WaybillId, call.ErrCode, call.Reason, call.Rid);

    /// <summary>A plain table for people: China time, API, waybill, errcode, rid, reason.</summary>
    public static string Table(IReadOnlyList<CallView> calls)
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"time (UTC+8)",-19}  {"api",-26}  {"waybill",-20}  {"errcode",8}  {"rid",-26}  reason");
        foreach (var call in calls)
        {
            var time = DateTimeOffset.FromUnixTimeMilliseconds(call.At).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            table.AppendLine(CultureInfo.InvariantCulture, $"{time,-19}  {call.Api,-26}  {call.WaybillId ?? "-",-20}  {call.Errcode,8}  {call.Rid ?? "-",-26}  {call.Reason ?? "ok"}");
        }

        return table.ToString();
    }
}

public sealed record CallList(IReadOnlyList<CallView> Calls);
