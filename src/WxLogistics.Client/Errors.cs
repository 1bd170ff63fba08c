namespace WxLogistics.Client;

/// <summary>A WeChat API answered a non-zero errcode.</summary>
public class WxLogisticsApiException : Exception
{
    /// <summary>Creates the exception for an errcode and its errmsg.</summary>
    /// <param name="errorCode">WeChat's errcode, such as 40199 or 9300507.</param>
    /// <param name="errorMessage">WeChat's errmsg, with its rid.</param>
    /// <param name="api">The API that answered, such as logistics.updatePath.</param>
    public WxLogisticsApiException(int errorCode, string errorMessage, string api)
        : base($"{api} failed with errcode {errorCode}: {errorMessage}")
    {
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
        Api = api;
    }

    /// <summary>WeChat's errcode.</summary>
    public int ErrorCode { get; }

    /// <summary>WeChat's errmsg, including the rid that finds the call in the server's call inspector.</summary>
    public string ErrorMessage { get; }

    /// <summary>The API that answered.</summary>
    public string Api { get; }
}
