using WxLogistics.Bench.Ceiling;
using WxLogistics.DeliveryPath;
using WxLogistics.Wire;

// The HTTP ceiling: Kestrel with the server's own limits reads and parses the updatePath body exactly as the server
// does, and answers ok without checking or storing anything. What the HTTP stack alone can do on this machine.
// With --durable FILE it also writes each parsed body to FILE and answers once it is on disk, one write and one
// flush shared by every body waiting (DurableLog): the durable ceiling, what any durable server could do at most here.
// With --postgres CONNECTION it instead inserts the events waiting into a table without index, one INSERT committed
// per batch (PostgresLog): the PostgreSQL ceiling, what any server storing each event as a PostgreSQL row could do.
var builder = WebApplication.CreateSlimBuilder(args);
var durable = builder.Configuration["durable"] is { Length: > 0 } path ? new DurableLog(path) : null;
var postgres = builder.Configuration["postgres"] is { Length: > 0 } connection ? new PostgresLog(connection) : null;
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = 1024 * 1024;
});

var app = builder.Build();
var ok = """{"errcode":0,"errmsg":"ok"}"""u8.ToArray();
app.MapPost("/cgi-bin/express/delivery/path/update", async (HttpContext http) =>
{
    var (body, error) = await WxBody.ReadAsync(http.Request, 64 * 1024, http.RequestAborted);
    UpdatePathRequest? request = null;
    var parsed = body is not null && UpdatePathRequest.TryParse(body, out request, out _);
    if (parsed && durable is not null)
    {
        await durable.AppendAsync(body!);
    }

    if (parsed && postgres is not null)
    {
        await postgres.AppendAsync(request!);
    }

    http.Response.ContentType = "application/json; charset=utf-8";
    await http.Response.Body.WriteAsync(parsed ? ok : error?.ToJsonBytes() ?? ok);
});
app.Run();
