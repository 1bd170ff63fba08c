using WxLogistics.Apps;

namespace WxLogistics.Storage;

public sealed record AppRecord(AppId AppId, AppRole Role, string Name, DeliveryId? DeliveryId, byte[] SecretHash, long CreatedAt)
{
    /// <summary>The app's message server, when it has one.</summary>
    public PushTarget? Push { get; init; }

    /// <summary>A carrier's service types as JSON [{service_type, service_name}] (getAllDelivery, addOrder).</summary>
    public string? ServiceTypesJson { get; init; }
}

public enum PushFormat
{
    Xml,
    Json,
}

/// <summary>An app's message server: where pushes go, the token they are signed with, and their format.</summary>
public sealed record PushTarget(string Url, string Token, PushFormat Format);

public enum PushStatus
{
    Pending,
    Delivered,
    Dead,
}

/// <summary>A push leased for delivery: the waybill, its merchant, and the attempts so far.</summary>
public sealed record PushJob(WaybillKey Key, AppId Merchant, long Version, int Attempts);

/// <summary>An outbox row as operators see it.</summary>
public sealed record PushDeliveryRecord(
    WaybillKey Key, AppId Merchant, long Version, long DeliveredVersion, PushStatus Status, int Attempts, long NextAttemptAtMs, string? LastError, long UpdatedAtMs);

public sealed record WaybillRecord(
    WaybillKey Key,
    byte[] TokenHash,
    AppId? MerchantAppId,
    string? OrderId,
    string? OpenId,
    long PathVersion,
    long CreatedAt);

/// <summary>One track event of a waybill's path, as the carrier sent it.</summary>
public readonly record struct PathEvent(long ActionTime, int ActionType, string ActionMsg);

public enum AccessTokenKind
{
    /// <summary>From GET /cgi-bin/token: each new one retires the previous ones after an overlap.</summary>
    ClientCredential = 0,

    /// <summary>From POST /cgi-bin/stable_token: isolated from the other kind.</summary>
    Stable = 1,
}

/// <summary>An issued access_token, known only by its hash. Past <see cref="RevokedAt"/> it is no longer the latest.</summary>
public sealed record AccessTokenRecord(byte[] Hash, AppId AppId, AccessTokenKind Kind, long IssuedAt, long ExpiresAt, long? RevokedAt);

/// <summary>What became of a store's issue of a new access_token.</summary>
public enum TokenIssue
{
    Issued,

    /// <summary>The app was issued its daily number of client-credential tokens already.</summary>
    DailyLimitReached,

    /// <summary>Another call replaced the app's stable token first.</summary>
    Superseded,

    /// <summary>
    /// The app's secret was reset after the caller checked the one it was given: the token would outlive the reset,
    /// which retires every token the app holds.
    /// </summary>
    SecretReset,
}

/// <summary>
/// The current stable_token of an app. The token itself is derived from the server key and <see cref="Nonce"/>,
/// so the same one can be handed out again without keeping it in clear.
/// </summary>
public sealed record StableTokenState(AppId AppId, byte[] Nonce, long IssuedAt, long ExpiresAt, long LastForceAt, long ForceDay, int ForceCount);

/// <summary>A path event with its waybill, as exports read them.</summary>
public sealed record KeyedPathEvent(WaybillKey Key, PathEvent Event);

/// <summary>What the group commit makes of one appended event.</summary>
public enum AppendOutcome
{
    Stored,
    Duplicate,

    /// <summary>Checked in the append (a token hash was given): the waybill does not exist; nothing stored.</summary>
    WaybillNotFound,

    /// <summary>Checked in the append (a token hash was given): the waybill's token is another; nothing stored.</summary>
    TokenIncorrect,

    /// <summary>A new event for a waybill whose path holds <see cref="Store.MaxEventsPerWaybill"/> already; nothing stored.</summary>
    PathFull,
}

/// <summary>A cloud environment: who signs for it, which app it acts as, and which open APIs it may call.</summary>
public sealed record CloudEnvRecord(string Env, AppId AppId, string SecretId, IReadOnlySet<string> Permissions, bool IsDefault, long CreatedAt);

/// <summary>One call as the call inspector keeps it: no secret, token or body.</summary>
public sealed record CallRecord(AppId AppId, long AtMs, string Api, string? WaybillId, int ErrCode, string? Reason, string? Rid);

/// <summary>What to list of an app's calls.</summary>
public sealed record CallFilter(AppId AppId, string? WaybillId, int? ErrCode, string? Rid, int Limit);

/// <summary>An order placed with addOrder, and the waybill its carrier gave it.</summary>
public sealed record OrderRecord(
    AppId Merchant, string OrderId, WaybillKey Waybill, string BizId, string? OpenId, string Body, string WaybillData, int Status, long CreatedAt);

/// <summary>An account (biz_id) a merchant bound with a carrier; its password is never kept.</summary>
public sealed record AccountRecord(AppId Merchant, DeliveryId DeliveryId, string BizId, string RemarkContent, long CreatedAt);

/// <summary>
/// A bound account as getAllAccount lists it, with its carrier's service types (JSON, null when it has none) and the
/// labels it had left when getQuota last asked, and when (null when it never did).
/// </summary>
public sealed record AccountListing(AccountRecord Account, long UpdatedAt, string? ServiceTypesJson, long? QuotaNum, long? QuotaUpdateTime);

/// <summary>A carrier as getAllDelivery lists it.</summary>
public sealed record CarrierListing(DeliveryId DeliveryId, string Name, string? ServiceTypesJson);
