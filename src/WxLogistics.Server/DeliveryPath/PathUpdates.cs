using System.Text;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.DeliveryPath;

/// <summary>
/// logistics.updatePath: after the gateway, 40199 for a waybill the carrier does not have, then 9300507 for a wrong
/// token, then the fields (40097, 9300526), then the durable append. Limits are in docs/errors.md.
/// </summary>
public sealed class PathUpdates(WaybillTokens waybills, GroupCommit commit, TimeProvider time)
{
    public static readonly WxApi Api = new("logistics.updatePath", AppRole.Carrier)
    {
        Doc = new(
            "updatePath (更新运单轨迹): a carrier adds a track event to a waybill",
            "Carrier access_token. Body: token (the waybill's token), waybill_id, action_time (Unix seconds), action_type " +
            "(100001, 100002, 100003, 200001, 300002, 300003, 300004, 400001, 400002), action_msg (UTF-8, at most 1024 bytes). " +
            "Answers {\"errcode\":0,\"errmsg\":\"ok\"} once the event is committed; a repeat is acknowledged and stored once. " +
            "Errors after the gateway: 40097 waybill_id missing, 9300526 waybill_id over 128 bytes, 40199 waybill_id not found " +
            "(also another carrier's), 9300507 token is incorrect, 40097 invalid args (action_type, action_time, action_msg, UTF-8), " +
            "9300526 arg size exceed limit (action_msg; or a new event for a full path, when the operator sets WxLogistics:MaxEventsPerWaybill).",
            typeof(Operability.ApiBodies.UpdatePath),
            typeof(Operability.ApiBodies.Envelope)),
    };

    public const int MaxActionMsgBytes = 1024;

    /// <summary>2000-01-01T00:00:00Z: anything earlier is not a track event of this platform.</summary>
    public const long EarliestActionTime = 946_684_800;

    /// <summary>How far ahead of the server's clock an action_time may be (carriers' clocks drift).</summary>
    public const long MaxFutureSeconds = 86_400;

    public async Task<WxReply> UpdateAsync(WxCall call, CancellationToken cancellationToken)
    {
        if (!UpdatePathRequest.TryParse(call.Body, out var request, out var formatProblem))
        {
            return WxReply.Error(WxErrors.DataFormatError, formatProblem);
        }

        if (string.IsNullOrEmpty(request.WaybillId))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "waybill_id is required");
        }

        if (Encoding.UTF8.GetByteCount(request.WaybillId) > Apps.WaybillId.MaxBytes)
        {
            return WxReply.Error(WxErrors.ArgSizeExceedLimit, $"waybill_id is longer than {Apps.WaybillId.MaxBytes} bytes");
        }

        if (call.Caller.DeliveryId is not { } deliveryId || !Apps.WaybillId.TryParse(request.WaybillId, out var waybillId))
        {
            return WxReply.Error(WxErrors.WaybillNotFound);
        }

        var key = new WaybillKey(deliveryId, waybillId);
        var tokenHash = waybills.KnownTokenHash(key);
        if (tokenHash is null)
        {
            if (commit.ChecksTokens && !string.IsNullOrEmpty(request.Token) && Validate(request) is null)
            {
                // A waybill not in memory: the append checks the token as it locks the waybill, which saves PostgreSQL
                // a read of its own (bench/RESULTS.md, twelfth session). The fields are valid here, so only the
                // waybill and the token can fail, and they are answered as below.
                var given = Secrets.Hash(request.Token);
                switch (await commit.AppendAsync(key, request.ToEvent(), given, cancellationToken))
                {
                    case AppendOutcome.WaybillNotFound:
                        return WxReply.Error(WxErrors.WaybillNotFound);
                    case AppendOutcome.TokenIncorrect:
                        return WxReply.Error(WxErrors.TokenIncorrect);
                    case var outcome:
                        waybills.RememberCheckedToken(key, given);
                        return Answer(outcome, key);
                }
            }

            if (await waybills.FindAsync(key, cancellationToken) is not { } waybill)
            {
                return WxReply.Error(WxErrors.WaybillNotFound);
            }

            tokenHash = waybill.TokenHash;
        }

        if (string.IsNullOrEmpty(request.Token) || !Secrets.Matches(request.Token, tokenHash))
        {
            return WxReply.Error(WxErrors.TokenIncorrect);
        }

        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        return Answer(await commit.AppendAsync(key, request.ToEvent(), cancellationToken: cancellationToken), key);
    }

    /// <summary>The answer to a stored or repeated event (ok), or to one refused because its waybill's path is full.</summary>
    public WxReply Answer(AppendOutcome outcome, WaybillKey key) => outcome == AppendOutcome.PathFull
        ? WxReply.Error(
            WxErrors.ArgSizeExceedLimit,
            $"the path of waybill {key.WaybillId.Value} holds {commit.MaxEventsPerWaybill} events, the most this server keeps for a waybill (WxLogistics:MaxEventsPerWaybill)")
        : WxReply.Ok;

    /// <summary>The field checks of an event (40097, 9300526), shared with testUpdateOrder.</summary>
    public WxReply? Validate(UpdatePathRequest request) => Validate(request, time.GetUtcNow().ToUnixTimeSeconds());

    /// <summary>The field checks of an event at a given time, shared with `path import`.</summary>
    public static WxReply? Validate(UpdatePathRequest request, long nowSeconds)
    {
        if (request.InvalidText is { } invalidText)
        {
            return WxReply.Error(WxErrors.InvalidArgs, invalidText);
        }

        if (request.ActionTypeNotInteger || request.ActionType is null)
        {
            return WxReply.Error(WxErrors.InvalidArgs, request.ActionType is null && !request.ActionTypeNotInteger
                ? "action_type is required"
                : "action_type must be an integer");
        }

        if (!ActionTypes.IsDefined(request.ActionType.Value))
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"action_type {request.ActionType} is not one of {ActionTypes.AllowedList}");
        }

        if (request.ActionTimeNotInteger || request.ActionTime is null)
        {
            return WxReply.Error(WxErrors.InvalidArgs, request.ActionTime is null && !request.ActionTimeNotInteger
                ? "action_time is required"
                : "action_time must be an integer Unix time in seconds");
        }

        var actionTime = request.ActionTime.Value;
        var latest = nowSeconds + MaxFutureSeconds;
        if (actionTime > latest && actionTime / 1000 is var seconds && seconds >= EarliestActionTime && seconds <= latest)
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"action_time {actionTime} looks like milliseconds; send Unix time in seconds ({seconds})");
        }

        if (actionTime < EarliestActionTime || actionTime > latest)
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"action_time {actionTime} is not a plausible Unix time in seconds (from 2000-01-01 to one day ahead of now)");
        }

        if (string.IsNullOrWhiteSpace(request.ActionMsg))
        {
            return WxReply.Error(WxErrors.InvalidArgs, request.ActionMsg is null ? "action_msg is required" : "action_msg must not be empty");
        }

        var bytes = Encoding.UTF8.GetByteCount(request.ActionMsg);
        if (bytes > MaxActionMsgBytes)
        {
            return WxReply.Error(WxErrors.ArgSizeExceedLimit, $"action_msg is {bytes} bytes; the limit is {MaxActionMsgBytes} bytes of UTF-8");
        }

        foreach (var c in request.ActionMsg)
        {
            if (char.IsControl(c) && c is not ('\n' or '\t' or '\r'))
            {
                return WxReply.Error(WxErrors.InvalidArgs, $"action_msg contains the control character U+{(int)c:X4}");
            }
        }

        return null;
    }
}
