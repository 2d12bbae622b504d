using System.Text.Json;

namespace StratumProxy.Stratum.Protocol;

/// <summary>What a line is, by the JSON-RPC members it carries.</summary>
public enum StratumMessageKind : byte
{
    /// <summary>A method call with an id that expects a response.</summary>
    Request,

    /// <summary>A method call with a null or missing id (no response is sent).</summary>
    Notification,

    /// <summary>A response: <c>result</c> and/or <c>error</c>, no method.</summary>
    Response,
}

/// <summary>
/// The top level of one Stratum line: kind, method, id and where <c>params</c>, <c>result</c>, <c>error</c> and
/// ckpool's <c>reject-reason</c> sit in the line. Members are found by key in any order (PEERS.md #2); the values are
/// read afterwards by the method-specific readers. Parsing allocates nothing.
/// </summary>
public readonly struct StratumEnvelope
{
    internal StratumEnvelope(
        StratumMessageKind kind,
        StratumMethod method,
        JsonRange methodName,
        JsonRpcId id,
        JsonRange @params,
        JsonRange result,
        JsonRange error,
        JsonRange rejectReason)
    {
        Kind = kind;
        Method = method;
        MethodName = methodName;
        Id = id;
        Params = @params;
        Result = result;
        Error = error;
        RejectReason = rejectReason;
    }

    /// <summary>Request, notification or response.</summary>
    public StratumMessageKind Kind { get; }

    /// <summary>The method, or <see cref="StratumMethod.Unknown"/> (see <see cref="MethodName"/>).</summary>
    public StratumMethod Method { get; }

    /// <summary>Where the raw method string token (with quotes) sits; empty for responses.</summary>
    public JsonRange MethodName { get; }

    /// <summary>The id, raw.</summary>
    public JsonRpcId Id { get; }

    /// <summary>The <c>params</c> value; empty when absent (liberal: a missing params is an empty list).</summary>
    public JsonRange Params { get; }

    /// <summary>The <c>result</c> value; empty when absent.</summary>
    public JsonRange Result { get; }

    /// <summary>The <c>error</c> value; empty when absent.</summary>
    public JsonRange Error { get; }

    /// <summary>ckpool's <c>reject-reason</c> string token; empty when absent.</summary>
    public JsonRange RejectReason { get; }

    /// <summary>JSON reader settings for every Stratum line: strict JSON, shallow nesting.</summary>
    public static JsonReaderOptions ReaderOptions { get; } = new()
    {
        MaxDepth = 8,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>Parses the top level of <paramref name="line"/>. Never throws for any input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out StratumEnvelope envelope, out StratumParseError error)
    {
        envelope = default;
        try
        {
            return TryParseCore(line, out envelope, out error);
        }
        catch (JsonException)
        {
            error = StratumParseError.Json("the line is not well-formed JSON");
            return false;
        }
        catch (InvalidOperationException)
        {
            error = StratumParseError.Json("the line holds a string that is not valid UTF-8 or a value out of range");
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlySpan<byte> line, out StratumEnvelope envelope, out StratumParseError error)
    {
        envelope = default;

        // Utf8JsonReader does not check string bytes; one vectorised pass makes invalid UTF-8 a clear error here
        // instead of a surprise when some field is decoded later.
        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            error = StratumParseError.Json("the line is not valid UTF-8");
            return false;
        }

        var reader = new Utf8JsonReader(line, ReaderOptions);
        if (!reader.Read())
        {
            error = StratumParseError.Json("the line is empty");
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // Still walk it, so that malformed input is reported as malformed rather than as "not an object".
            reader.Skip();
            error = new StratumParseError(StratumParseErrorKind.NotAnObject, "a Stratum line must be a JSON object");
            return false;
        }

        var method = StratumMethod.Unknown;
        JsonRange methodName = default, @params = default, result = default, errorRange = default, rejectReason = default;
        var id = JsonRpcId.Missing;
        var hasMethod = false;
        var hasResultOrError = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = Member.Other;
            if (reader.ValueTextEquals("method"u8))
            {
                member = Member.Method;
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                member = Member.Id;
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                member = Member.Params;
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                member = Member.Result;
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                member = Member.Error;
            }
            else if (reader.ValueTextEquals("reject-reason"u8))
            {
                member = Member.RejectReason;
            }

            reader.Read();
            var valueType = reader.TokenType;
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var range = new JsonRange(start, (int)reader.BytesConsumed - start);

            switch (member)
            {
                case Member.Method:
                    if (valueType == JsonTokenType.Null)
                    {
                        break;
                    }

                    if (valueType != JsonTokenType.String)
                    {
                        error = new StratumParseError(StratumParseErrorKind.WrongType, "\"method\" must be a string");
                        return false;
                    }

                    hasMethod = true;
                    methodName = range;
                    method = ParseMethodName(ref reader);
                    break;
                case Member.Id:
                    switch (valueType)
                    {
                        case JsonTokenType.Null:
                            id = JsonRpcId.Null;
                            break;
                        case JsonTokenType.Number:
                            id = JsonRpcId.FromRaw(JsonRpcIdKind.Number, range.Of(line));
                            break;
                        case JsonTokenType.String:
                            id = JsonRpcId.FromRaw(JsonRpcIdKind.String, range.Of(line));
                            break;
                        default:
                            error = new StratumParseError(StratumParseErrorKind.WrongType, "\"id\" must be a number, a string or null");
                            return false;
                    }

                    break;
                case Member.Params:
                    @params = valueType == JsonTokenType.Null ? default : range;
                    break;
                case Member.Result:
                    hasResultOrError = true;
                    result = range;
                    break;
                case Member.Error:
                    hasResultOrError = true;
                    errorRange = range;
                    break;
                case Member.RejectReason:
                    rejectReason = valueType == JsonTokenType.String ? range : default;
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            error = StratumParseError.Json("the line is not well-formed JSON");
            return false;
        }

        // Anything after the object other than white space is an error (e.g. two objects on one line).
        if (reader.Read())
        {
            error = StratumParseError.Json("unexpected data after the JSON object");
            return false;
        }

        StratumMessageKind kind;
        if (hasMethod)
        {
            kind = id.IsNullOrMissing ? StratumMessageKind.Notification : StratumMessageKind.Request;
        }
        else if (hasResultOrError)
        {
            kind = StratumMessageKind.Response;
        }
        else
        {
            error = new StratumParseError(StratumParseErrorKind.NotJsonRpc, "the object has neither \"method\" nor \"result\"/\"error\"");
            return false;
        }

        envelope = new StratumEnvelope(kind, method, methodName, id, @params, result, errorRange, rejectReason);
        error = StratumParseError.None;
        return true;
    }

    private static StratumMethod ParseMethodName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return StratumMethodNames.Parse(reader.ValueSpan);
        }

        Span<byte> name = stackalloc byte[64];
        if (reader.ValueSpan.Length > name.Length && !reader.HasValueSequence)
        {
            return StratumMethod.Unknown;
        }

        try
        {
            var length = reader.CopyString(name);
            return StratumMethodNames.Parse(name[..length]);
        }
        catch (ArgumentException)
        {
            return StratumMethod.Unknown;
        }
    }

    private enum Member
    {
        Other,
        Method,
        Id,
        Params,
        Result,
        Error,
        RejectReason,
    }
}
