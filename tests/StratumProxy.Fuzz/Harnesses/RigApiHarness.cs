using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Rigs;
using StratumProxy.Rigs.Antminer;
using StratumProxy.Rigs.Avalon;
using StratumProxy.Rigs.BraiinsOs;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.LuxOs;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>
/// What a rig's management API answers, for every firmware family: the real client of the family talks to a loopback
/// server that answers each request with the next reply from the input (TCP 4028-style RPC, or HTTP with the reply as
/// the body). Input: byte 0 picks the family, byte 1 the operation (read status, sleep, wake, power target, work mode,
/// switch pool), the rest is the replies in order, separated by 0x1E (the last one repeats). The clients' contract is a
/// result for every reply (RigFailed and friends): no exception is allowed.
/// </summary>
internal sealed class RigApiHarness : Harness
{
    public const byte Separator = 0x1E;

    private static readonly string[] Families = ["cgminer", "braiins_os", "luxos", "whatsminer_v2", "whatsminer_v3", "avalon", "antminer_stock"];

    private static readonly Lazy<ReplyServer> Server = new(() => new ReplyServer());

    public override string Name => "rig-api";

    public override string Summary => "rig management API replies of every family (cgminer, Braiins OS, LuxOS, Whatsminer v2/v3, Avalon, Antminer) through the real clients over loopback (no exception allowed)";

    public override void Run(byte[] input)
    {
        // A short input is family 0 (cgminer), read status, an empty reply: every input reaches the client, so afl's
        // first run always sees coverage.
        var family = input.Length > 0 ? input[0] % Families.Length : 0;
        var operation = input.Length > 1 ? input[1] % 6 : 0;
        var server = Server.Value;
        var replies = Split(input.AsSpan(Math.Min(2, input.Length)));
        server.Begin(replies);
        try
        {
            var client = Create(family, server);
            Task task = operation switch
            {
                0 => client.ReadStatusAsync(CancellationToken.None),
                1 => client.SleepAsync(CancellationToken.None),
                2 => client.WakeAsync(CancellationToken.None),
                3 => client.SetPowerTargetAsync(2500, CancellationToken.None),
                4 => client.SetWorkModeAsync(RigWorkMode.LowPower, CancellationToken.None),
                _ => client.SwitchPoolAsync(1, CancellationToken.None),
            };
            task.GetAwaiter().GetResult();
            (client as IDisposable)?.Dispose();
        }
        finally
        {
            server.End();
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        for (var family = 0; family < Families.Length; family++)
        {
            // Whatsminer API v3 frames each reply (a length, then the JSON); the other families end it with NUL or close.
            var replies = sources.RigReplies(Families[family])
                .Select(r => Families[family] == "whatsminer_v3" ? (r.Id, Framed(r.Reply.AsSpan().TrimEnd((byte)0))) : r)
                .ToList();
            foreach (var (id, reply) in replies)
            {
                yield return new Seed($"{id}", [(byte)family, 0, .. reply]);
            }

            // Every reply of the family in recorded order, once per operation.
            var all = new List<byte>();
            foreach (var (_, reply) in replies)
            {
                if (all.Count > 0)
                {
                    all.Add(Separator);
                }

                all.AddRange(reply);
            }

            for (byte operation = 0; operation < 6; operation++)
            {
                yield return new Seed($"{Families[family]}.all.op{operation}", [(byte)family, operation, .. all]);
            }
        }

        // Crashes found and fixed: a Braiins OS login answered with a bare `false` (family 1, read status); a cgminer
        // reply that names a member twice (family 0, read status); JSON that is not an object where the client looked up
        // a name: a Braiins OS status read answered `false` after the login, a stock Antminer configuration write
        // answered `1` (family 6, sleep), a Whatsminer v3 summary whose `msg` is a number (family 4, read status).
        yield return new Seed("regress-braiins-login-not-object", [1, 0, .. "false"u8]);
        yield return new Seed("regress-duplicate-member", [0, 0, .. "{\"STATUS\":[{\"STATUS\":\"S\",\"Code\":11,\"Code\":12}],\"id\":1}\0"u8]);
        yield return new Seed("regress-braiins-status-not-object", [1, 0, .. "{\"token\":\"t\",\"timeout_s\":3600}"u8, Separator, .. "false"u8]);
        yield return new Seed("regress-antminer-write-reply-not-object", [6, 1, .. "{\"pools\":[]}"u8, Separator, .. "1"u8]);
        yield return new Seed("regress-whatsminer-v3-msg-not-object", [4, 0, .. Framed("{\"code\":0,\"msg\":{}}"u8), Separator, .. Framed("{\"code\":0,\"msg\":1}"u8)]);
    }

    /// <summary>A Whatsminer API v3 reply frame: the uint32 little-endian length, then the JSON.</summary>
    private static byte[] Framed(ReadOnlySpan<byte> json) => [(byte)json.Length, (byte)(json.Length >> 8), 0, 0, .. json];

    private static List<byte[]> Split(ReadOnlySpan<byte> rest)
    {
        var parts = new List<byte[]>();
        while (true)
        {
            var index = rest.IndexOf(Separator);
            if (index < 0)
            {
                parts.Add(rest.ToArray());
                return parts;
            }

            parts.Add(rest[..index].ToArray());
            rest = rest[(index + 1)..];
        }
    }

    private static IRigClient Create(int family, ReplyServer server)
    {
        var time = TimeProvider.System;
        var rpc = new RigEndpoint("127.0.0.1", server.RpcPort) { CommandTimeout = TimeSpan.FromSeconds(2) };
        var http = rpc with { Port = server.HttpPort };
        return family switch
        {
            0 => new CgminerRigClient(rpc, time),
            1 => new BraiinsOsRigClient(http, time),
            2 => new LuxOsRigClient(rpc, time),
            3 => new WhatsminerV2RigClient(rpc, time),
            4 => new WhatsminerV3RigClient(rpc, time),
            5 => new AvalonRigClient(rpc, time),
            _ => new AntminerStockRigClient(http, time, server.RpcPort),
        };
    }

    /// <summary>Two loopback listeners (raw RPC and HTTP) that answer each connection with the next reply.</summary>
    private sealed class ReplyServer
    {
        private readonly Lock _gate = new();
        private readonly TcpListener _rpc = new(IPAddress.Loopback, 0);
        private readonly TcpListener _http = new(IPAddress.Loopback, 0);
        private List<byte[]> _replies = [];
        private int _next;

        public ReplyServer()
        {
            _rpc.Start();
            _http.Start();
            StartAcceptLoop(_rpc, http: false);
            StartAcceptLoop(_http, http: true);
        }

        public int RpcPort => ((IPEndPoint)_rpc.LocalEndpoint).Port;

        public int HttpPort => ((IPEndPoint)_http.LocalEndpoint).Port;

        public void Begin(List<byte[]> replies)
        {
            lock (_gate)
            {
                _replies = replies;
                _next = 0;
            }
        }

        public void End() => Begin([]);

        private byte[] NextReply()
        {
            lock (_gate)
            {
                if (_replies.Count == 0)
                {
                    return [];
                }

                var reply = _replies[Math.Min(_next, _replies.Count - 1)];
                _next++;
                return reply;
            }
        }

        private void StartAcceptLoop(TcpListener listener, bool http)
        {
            var thread = new Thread(() =>
            {
                while (true)
                {
                    var socket = listener.AcceptSocket();
                    ThreadPool.UnsafeQueueUserWorkItem(_ => Serve(socket, http), null);
                }
            })
            { IsBackground = true, Name = http ? "fuzz-http" : "fuzz-rpc" };
            thread.Start();
        }

        private void Serve(Socket socket, bool http)
        {
            try
            {
                socket.ReceiveTimeout = 2000;
                socket.NoDelay = true;
                var buffer = new byte[64 * 1024];
                var received = ReadRequest(socket, buffer, http);
                if (received <= 0)
                {
                    return;
                }

                var reply = NextReply();
                if (http)
                {
                    var head = Encoding.ASCII.GetBytes(
                        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {reply.Length}\r\nConnection: close\r\n\r\n");
                    socket.Send(head);
                }

                socket.Send(reply);
                socket.Shutdown(SocketShutdown.Send);
                while (socket.Receive(buffer) > 0)
                {
                }
            }
            catch (SocketException)
            {
            }
            finally
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
            }
        }

        private static int ReadRequest(Socket socket, byte[] buffer, bool http)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = socket.Receive(buffer, total, buffer.Length - total, SocketFlags.None);
                if (n <= 0)
                {
                    return total;
                }

                total += n;
                // RPC: one write per request. HTTP: the head (a body, if any, is drained after the reply).
                if (!http || buffer.AsSpan(0, total).IndexOf("\r\n\r\n"u8) >= 0)
                {
                    return total;
                }
            }

            return total;
        }
    }
}
