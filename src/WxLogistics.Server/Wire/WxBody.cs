using System.Buffers;
using System.Text;

namespace WxLogistics.Wire;

/// <summary>Reads a request body up to a limit, with WeChat's answers for an empty, an oversized or an unreadable one.</summary>
public static class WxBody
{
    public static async Task<(byte[]? Body, WxReply? Error)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        var rented = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, (int)(request.ContentLength ?? 4096) + 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == rented.Length)
                {
                    if (length > maxBytes)
                    {
                        return (null, TooLarge(maxBytes));
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, rented.Length * 2));
                    rented.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(rented);
                    rented = larger;
                }

                var read = await request.Body.ReadAsync(rented.AsMemory(length, Math.Min(rented.Length, maxBytes + 1) - length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    return (null, TooLarge(maxBytes));
                }
            }

            if (length == 0)
            {
                return (null, WxReply.Error(WxErrors.EmptyPostData));
            }

            // Editors and some writers put one before UTF-8 text; no JSON parser here takes it, so say what it is.
            return rented.AsSpan(0, length).StartsWith(Encoding.UTF8.Preamble)
                ? (null, WxReply.Error(WxErrors.DataFormatError, "the body starts with a UTF-8 byte order mark (EF BB BF); send the JSON without it"))
                : (rented.AsSpan(0, length).ToArray(), null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own limit.
            return (null, TooLarge(maxBytes));
        }
        catch (BadHttpRequestException e)
        {
            // A body Kestrel could not read to its end: a malformed chunked encoding, or one cut short. Kestrel's
            // message says which ("Bad chunk size data.", "Unexpected end of request content.").
            return (null, WxReply.Error(WxErrors.DataFormatError, $"the request body could not be read: {e.Message}"));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    static WxReply TooLarge(int maxBytes) =>
        WxReply.Error(WxErrors.ArgSizeExceedLimit, $"the request body is larger than {maxBytes} bytes");
}
