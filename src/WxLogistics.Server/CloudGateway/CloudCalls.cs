using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using WxLogistics.Apps;
using WxLogistics.CloudGateway.Protocol;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.CloudGateway;

/// <summary>
/// The TCB gateway side of wx-server-sdk's `cloud.openapi.*` calls (../shared/spec/cloud-call-protocol.md): one signed
/// multipart POST with action=wx.openApi, apiName and a protobuf requestData, answered by a protobuf CommOpenApiResp
/// whose respData is the same WeChat JSON the HTTPS API answers.
/// </summary>
public sealed class CloudCalls(
    Store store,
    ServerKey serverKey,
    WxApiCatalog catalog,
    TimeProvider time,
    Operability.WxMetrics metrics,
    Operability.CallInspector inspector,
    Operability.RequestErrorLog errors)
{
    public const int MaxBodyBytes = 1024 * 1024;
    public const int MaxSignatureAgeSeconds = 600;
    const int MaxFields = 32;

    // wx-server-sdk maps these TCB error names to its numbers: INVALIID_ENV (sic) -501005, INVALID_COMMON_PARAM -501006,
    // INVALID_PARAM -501007, SYS_ERR -501001 (its src/api/cloud/provider/tcb/config/error.config.ts).
    const string InvalidEnv = "INVALIID_ENV";
    const string InvalidCommonParam = "INVALID_COMMON_PARAM";
    const string InvalidParam = "INVALID_PARAM";
    const string SystemError = "SYS_ERR";

    // WeChat-side codes carried in CommOpenApiResp.errorCode.
    const int ApiNotFound = -604100;
    const int NoPermission = -604101;

    public async Task HandleAsync(HttpContext http)
    {
        // node-sdk keeps sockets in a keep-alive pool; closing lets a cloud function's process end at once.
        http.Response.Headers.Connection = "close";
        try
        {
            await HandleCallAsync(http);
        }
        catch (Exception e) when (e is not OperationCanceledException && !http.Response.HasStarted)
        {
            // The store failed before the API ran (the env or the app could not be read): the TCB error the SDK maps to
            // -501001, rather than an HTTPS API's envelope it cannot read.
            errors.Failed(e, "the cloud gateway", SystemError);
            await TcbErrorAsync(http, SystemError, "the server could not handle the call now; try again");
        }
    }

    async Task HandleCallAsync(HttpContext http)
    {
        var request = http.Request;
        var cancellationToken = http.RequestAborted;

        var (fields, formProblem) = await ReadFormAsync(request, cancellationToken);
        if (fields is null)
        {
            await TcbErrorAsync(http, InvalidParam, formProblem ?? "the body must be multipart/form-data of at most 1 MiB, as wx-server-sdk sends it");
            return;
        }

        if (Text(fields, "action") != "wx.openApi")
        {
            await TcbErrorAsync(http, InvalidParam, $"action '{WireJson.Shown(Text(fields, "action") ?? "")}' is not supported here; only wx.openApi (cloud.openapi.*) is");
            return;
        }

        var envName = Text(fields, "envName") ?? request.Query["env"].FirstOrDefault() ?? "";
        var env = await store.FindCloudEnvAsync(envName, cancellationToken);
        if (env is null)
        {
            await TcbErrorAsync(http, InvalidEnv, envName.Length == 0
                ? "no env was named and this server has no default env (cloudenv add --default)"
                : $"env '{WireJson.Shown(envName)}' does not exist on this server (cloudenv add --env {WireJson.Shown(envName)} …)");
            return;
        }

        if (VerifySignature(http, env, fields) is { } signatureProblem)
        {
            await TcbErrorAsync(http, InvalidCommonParam, signatureProblem);
            return;
        }

        var apiName = Text(fields, "apiName") ?? "";
        if (catalog.Find(apiName) is not { } api)
        {
            await WxErrorCodeAsync(http, ApiNotFound);
            return;
        }

        if (!env.Permissions.Contains(apiName))
        {
            await WxErrorCodeAsync(http, NoPermission);
            return;
        }

        if (BuildJsonBody(fields, out var problem) is not { } body)
        {
            await TcbErrorAsync(http, InvalidParam, problem);
            return;
        }

        WxReply reply;
        try
        {
            if (await store.FindAppAsync(env.AppId, cancellationToken) is { } app)
            {
                reply = await catalog.InvokeAsync(http.RequestServices, api, app, body, cancellationToken);
                inspector.Record(api, app, body, reply);
            }
            else
            {
                reply = WxReply.Error(WxErrors.SystemError, $"the app of env {env.Env} no longer exists");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            reply = WxReply.Error(WxErrors.SystemError);
            errors.Failed(e, $"cloud call {apiName} of env {env.Env}", reply.ErrMsg);
        }

        metrics.Call(apiName, reply.ErrCode);
        await WriteProtobufAsync(http, new CommOpenApiResp
        {
            RespData = ByteString.CopyFrom(reply.ToJsonBytes()),
            ContentType = "application/json; charset=UTF-8",
            HttpCode = 200,
        });
    }

    string? VerifySignature(HttpContext http, CloudEnvRecord env, Dictionary<string, (byte[] Value, bool Binary)> fields)
    {
        var request = http.Request;
        if (!Tc3Signature.TryParse(request.Headers.Authorization.FirstOrDefault(), out var authorization))
        {
            return "the request is not signed (Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…, each once); " +
                "set TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY";
        }

        if (authorization.SecretId != env.SecretId)
        {
            return $"secretId {authorization.SecretId} is not the one of env {env.Env}";
        }

        // Unsigned digits only: the signer's Unix time in seconds. A sign would let now - timestamp overflow.
        var timestampHeader = request.Headers["X-Timestamp"].FirstOrDefault();
        if (!long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return timestampHeader is null
                ? "X-Timestamp is missing"
                : "X-Timestamp must be the signature's time in whole seconds since 1970";
        }

        var skew = Math.Abs(time.GetUtcNow().ToUnixTimeSeconds() - timestamp);
        if (skew > MaxSignatureAgeSeconds)
        {
            return $"the signature's timestamp is {skew} s away from the server's clock (at most {MaxSignatureAgeSeconds} s)";
        }

        // The target as sent, undecoded, which is what was signed; a host that keeps none (the test host) gives the parsed one.
        var rawTarget = http.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw
            ? raw
            : (request.PathBase + request.Path + request.QueryString).ToString();
        var queryStart = rawTarget.IndexOf('?');
        var path = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var query = queryStart < 0 ? "" : rawTarget[(queryStart + 1)..];

        var headers = authorization.SignedHeaders.Select(name => (name, NormalizeHeader(name, request.Headers[name].ToString()))).ToList();
        var signedFields = fields.Select(f => (f.Key.ToLowerInvariant(), f.Value.Binary ? f.Value.Value : Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(f.Value.Value).Trim()))).ToList();
        var expected = Tc3Signature.Compute(
            CloudCredentials.SecretKey(serverKey, env.Env, env.SecretId),
            authorization.Service,
            request.Method.ToLowerInvariant(),
            $"//{request.Host}{path}",
            query,
            headers,
            signedFields,
            timestamp);
        return Tc3Signature.Matches(expected, authorization.Signature)
            ? null
            : $"the TC3-HMAC-SHA256 signature does not match: TENCENTCLOUD_SECRETKEY is not env {env.Env}'s secretKey";
    }

    /// <summary>As the signer formats headers: multipart content types without their boundary, values lower-case and trimmed.</summary>
    static string NormalizeHeader(string name, string value) =>
        name == "content-type" && value.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            ? "multipart/form-data"
            : value.Trim().ToLowerInvariant();

    /// <summary>{"key": value, …} from the requestData pairs, each value checked to be one JSON value.</summary>
    static byte[]? BuildJsonBody(Dictionary<string, (byte[] Value, bool Binary)> fields, out string problem)
    {
        problem = "";
        if (!fields.TryGetValue("requestData", out var requestData))
        {
            problem = "requestData is missing";
            return null;
        }

        CommApiData data;
        try
        {
            data = CommApiData.Parser.ParseFrom(requestData.Value);
        }
        catch (InvalidProtocolBufferException)
        {
            problem = "requestData is not a protobuf CommApiData";
            return null;
        }

        if (data.ApiType != 0)
        {
            problem = $"requestData apiType {data.ApiType} is not supported; only 0 (OPEN_API) is";
            return null;
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            writer.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pair in data.OpenapiData?.Pairs ?? [])
            {
                if (!seen.Add(pair.Key))
                {
                    problem = $"parameter {WireJson.Shown(pair.Key)} is sent twice";
                    return null;
                }

                try
                {
                    using var value = JsonDocument.Parse(pair.Value.Memory);
                    if (WireJson.BodyProblem(value.RootElement) is { } valueProblem)
                    {
                        problem = $"parameter {WireJson.Shown(pair.Key)}: {valueProblem}";
                        return null;
                    }

                    writer.WritePropertyName(pair.Key);
                    value.RootElement.WriteTo(writer);
                }
                catch (JsonException)
                {
                    problem = $"parameter {WireJson.Shown(pair.Key)} is not JSON text";
                    return null;
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The form's fields by name; null and, when more can be said than that it is no form of ours, why.</summary>
    static async Task<(Dictionary<string, (byte[] Value, bool Binary)>? Fields, string? Problem)> ReadFormAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary
            || request.ContentLength > MaxBodyBytes)
        {
            return (null, null);
        }

        var fields = new Dictionary<string, (byte[], bool)>(StringComparer.Ordinal);
        try
        {
            var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = MaxBodyBytes, HeadersCountLimit = 8 };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (fields.Count >= MaxFields
                    || !ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } name)
                {
                    return (null, null);
                }

                if (fields.ContainsKey(name))
                {
                    // Which of two values counts is not said anywhere; the signature covers each field once.
                    return (null, $"the form field {WireJson.Shown(name)} is sent twice");
                }

                using var value = new MemoryStream();
                await section.Body.CopyToAsync(value, cancellationToken);
                var binary = section.ContentType is { } type && !type.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
                fields[name] = (value.ToArray(), binary);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return (null, null);
        }

        return (fields, null);
    }

    static string? Text(Dictionary<string, (byte[] Value, bool Binary)> fields, string name) =>
        fields.TryGetValue(name, out var field) ? Encoding.UTF8.GetString(field.Value) : null;

    /// <summary>A TCB gateway error: JSON {code, message, requestId}, which the SDK turns into errCode and errMsg.</summary>
    static async Task TcbErrorAsync(HttpContext http, string code, string message)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(
            new { code, message = $"{message} (WxLogistics cloud gateway)", requestId = WxReply.NewRid() }, WireJson.Options));
    }

    /// <summary>A WeChat-side refusal before the API runs (no permission, unknown API), as CommOpenApiResp.errorCode.</summary>
    static Task WxErrorCodeAsync(HttpContext http, int errorCode) =>
        WriteProtobufAsync(http, new CommOpenApiResp { ErrorCode = errorCode, HttpCode = 200 });

    static async Task WriteProtobufAsync(HttpContext http, CommOpenApiResp response)
    {
        http.Response.ContentType = "application/octet-stream";
        await http.Response.Body.WriteAsync(response.ToByteArray());
    }
}
