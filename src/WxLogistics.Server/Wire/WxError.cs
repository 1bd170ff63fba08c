namespace WxLogistics.Wire;

/// <summary>A WeChat error code with the English text WeChat puts in errmsg.</summary>
public readonly record struct WxError(int Code, string Text);

/// <summary>
/// The one catalogue of codes this server answers with. Texts follow WeChat's own where they are known
/// (../shared/spec/wechat-logistics.md §4); the rest are marked in docs/errors.md.
/// </summary>
public static class WxErrors
{
    public static readonly WxError SystemError = new(-1, "system error");
    public static readonly WxError InvalidCredential = new(40001, "invalid credential, access_token is invalid or not latest");
    public static readonly WxError InvalidGrantType = new(40002, "invalid grant_type");
    public static readonly WxError InvalidAppId = new(40013, "invalid appid");
    public static readonly WxError InvalidUrl = new(40066, "invalid url");
    public static readonly WxError InvalidArgs = new(40097, "invalid args");
    public static readonly WxError InvalidAppSecret = new(40125, "invalid appsecret");
    public static readonly WxError WaybillNotFound = new(40199, "waybill_id not found");
    public static readonly WxError AccessTokenMissing = new(41001, "access_token missing");
    public static readonly WxError AppIdMissing = new(41002, "appid missing");
    public static readonly WxError AppSecretMissing = new(41004, "appsecret missing");
    public static readonly WxError AccessTokenExpired = new(42001, "access_token expired");
    public static readonly WxError RequirePost = new(43002, "require POST method");
    public static readonly WxError EmptyPostData = new(44002, "empty post data");
    public static readonly WxError DailyQuotaReached = new(45009, "reach max api daily quota limit");
    public static readonly WxError MinuteQuotaReached = new(45011, "api minute-quota reach limit  mustslower  retry next minute");
    public static readonly WxError DataFormatError = new(47001, "data format error");
    public static readonly WxError ApiUnauthorized = new(48001, "api unauthorized");
    public static readonly WxError DeliveryLogicFail = new(9300501, "delivery logic fail");
    public static readonly WxError DeliveryIdNotExist = new(9300503, "delivery_id not exist");
    public static readonly WxError WaybillHasPath = new(9300506, "waybill already has a path, it can not be cancelled");
    public static readonly WxError TokenIncorrect = new(9300507, "token is incorrect");
    public static readonly WxError ServiceTypeNotExist = new(9300510, "service_type not exist");
    public static readonly WxError OrderIdRepeated = new(9300522, "this orderid is repeated");
    public static readonly WxError CancelOrderFailed = new(9300524, "cancel order failed");
    public static readonly WxError AccountAlreadyBound = new(9300529, "account already bound");
    public static readonly WxError AccountNotBound = new(9300530, "biz_id to unbind not exist");
    public static readonly WxError InvalidBizIdOrPassword = new(9300531, "invalid biz_id or password");
    public static readonly WxError InvalidShopArgs = new(9300535, "invalid shop args");
    public static readonly WxError OrderNotExists = new(930563, "order not exists");
    public static readonly WxError ArgSizeExceedLimit = new(9300526, "arg size exceed limit");
}
