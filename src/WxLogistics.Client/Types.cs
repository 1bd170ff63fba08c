using System.Text.Json;
using System.Text.Json.Serialization;

namespace WxLogistics.Client;

/// <summary>The nine action_type values of updatePath.</summary>
public enum ActionType
{
    /// <summary>100001 揽件阶段-揽件成功.</summary>
    PickedUp = 100001,

    /// <summary>100002 揽件阶段-揽件失败.</summary>
    PickupFailed = 100002,

    /// <summary>100003 揽件阶段-分配业务员.</summary>
    CourierAssigned = 100003,

    /// <summary>200001 运输阶段-更新运输轨迹.</summary>
    InTransit = 200001,

    /// <summary>300002 派送阶段-开始派送.</summary>
    OutForDelivery = 300002,

    /// <summary>300003 派送阶段-签收成功.</summary>
    Delivered = 300003,

    /// <summary>300004 派送阶段-签收失败.</summary>
    DeliveryFailed = 300004,

    /// <summary>400001 异常阶段-订单取消.</summary>
    Cancelled = 400001,

    /// <summary>400002 异常阶段-订单滞留.</summary>
    Held = 400002,
}

/// <summary>A waybill number.</summary>
/// <param name="Value">The number, as the carrier gave it.</param>
[JsonConverter(typeof(WaybillIdJson))]
public readonly record struct WaybillId(string Value)
{
    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>An express company's code, such as SF.</summary>
/// <param name="Value">The code.</param>
[JsonConverter(typeof(DeliveryIdJson))]
public readonly record struct DeliveryId(string Value)
{
    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>A track event to add with updatePath.</summary>
/// <param name="Token">The waybill's token, from the add_waybill push.</param>
/// <param name="WaybillId">The waybill.</param>
/// <param name="ActionTime">When it happened (sent as Unix seconds).</param>
/// <param name="ActionType">What happened.</param>
/// <param name="ActionMessage">The text shown on the tracking page; write phone numbers as plain 11 digits.</param>
public sealed record PathUpdate(string Token, WaybillId WaybillId, DateTimeOffset ActionTime, ActionType ActionType, string ActionMessage);

/// <summary>One event of a path, as getPath returns it.</summary>
/// <param name="ActionTime">When it happened.</param>
/// <param name="ActionType">The action_type as sent (a number outside <see cref="Client.ActionType"/> is kept as is).</param>
/// <param name="ActionMessage">The carrier's text.</param>
public sealed record PathItem(DateTimeOffset ActionTime, ActionType ActionType, string ActionMessage);

/// <summary>A waybill's path, as getPath returns it.</summary>
/// <param name="OpenId">The buyer's openid.</param>
/// <param name="DeliveryId">The carrier.</param>
/// <param name="WaybillId">The waybill.</param>
/// <param name="Items">The events, sorted by time.</param>
public sealed record WaybillPath(string OpenId, DeliveryId DeliveryId, WaybillId WaybillId, IReadOnlyList<PathItem> Items);

/// <summary>A <see cref="WaybillId"/> in JSON is its string.</summary>
sealed class WaybillIdJson : JsonConverter<WaybillId>
{
    public override WaybillId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, WaybillId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>A <see cref="DeliveryId"/> in JSON is its string.</summary>
sealed class DeliveryIdJson : JsonConverter<DeliveryId>
{
    public override DeliveryId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, DeliveryId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
