using WxLogistics.Storage;

namespace WxLogistics.Push;

/// <summary>An outbox row as the `push list` verb and the admin endpoint show it (snake_case JSON).</summary>
public sealed record PushDeliveryView(
    string DeliveryId,
    string WaybillId,
    long Version,
    long DeliveredVersion,
    string Status,
    int Attempts,
    long NextAttemptAt,
    string? LastError,
    long UpdatedAt)
{
    public static PushDeliveryView From(PushDeliveryRecord row) => new(
        row.Key.DeliveryId.Value,
        row.Key.WaybillId.Value,
        row.Version,
        row.DeliveredVersion,
        row.Status.ToString().ToLowerInvariant(),
        row.Attempts,
        row.NextAttemptAtMs / 1000,
        row.LastError,
        row.UpdatedAtMs / 1000);
}

/// <summary>What `push list` prints and GET /admin/push answers.</summary>
public sealed record PushDeliveryList(IReadOnlyList<PushDeliveryView> Deliveries);
