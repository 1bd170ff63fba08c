namespace WxLogistics.DeliveryPath;

/// <summary>The nine action_type values of the seed document, and nothing else.</summary>
public enum ActionType
{
    /// <summary>揽件阶段-揽件成功</summary>
    PickedUp = 100001,

    /// <summary>揽件阶段-揽件失败</summary>
    PickupFailed = 100002,

    /// <summary>揽件阶段-分配业务员</summary>
    CourierAssigned = 100003,

    /// <summary>运输阶段-更新运输轨迹</summary>
    InTransit = 200001,

    /// <summary>派送阶段-开始派送</summary>
    OutForDelivery = 300002,

    /// <summary>派送阶段-签收成功</summary>
    Delivered = 300003,

    /// <summary>派送阶段-签收失败</summary>
    DeliveryFailed = 300004,

    /// <summary>异常阶段-订单取消</summary>
    Cancelled = 400001,

    /// <summary>异常阶段-订单滞留</summary>
    Held = 400002,
}

public static class ActionTypes
{
    public static readonly int[] All = Enum.GetValues<ActionType>().Select(t => (int)t).ToArray();

    public static bool IsDefined(long value) => value is >= int.MinValue and <= int.MaxValue && Enum.IsDefined((ActionType)(int)value);

    public static string AllowedList { get; } = string.Join(", ", All);
}
