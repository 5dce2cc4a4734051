%% Copied from ../shared/peers/matchstream_peer.erl (the project's steering repo) so that CI without ../shared can run tests/matchstream/peer_test.sh; keep it identical below this line.
%% MatchStream v1 on Erlang/OTP: the peer that the project's MatchStream server is set beside.
%%
%% It speaks the protocol of ../shared/peers/MATCHSTREAM.md over plain gen_tcp, written the way an
%% Erlang engineer would write it for production: one process per connection (the acceptor that
%% took the connection serves it and a fresh acceptor takes its place), one process per match
%% holding the subscribers and fanning out each event as one shared binary, {packet, line}
%% framing with a size cap, a large accept backlog.
%%
%% Run:  erlc -o DIR matchstream_peer.erl
%%       erl -noshell +K true +P 5000000 -pa DIR -run matchstream_peer main PORT
%% Needs erlang-base and erlang-jiffy (JSON for the watcher's lines).
-module(matchstream_peer).
-export([main/1]).

-define(MAX_LINE, 65536).
-define(CONNECT_TIMEOUT_MS, 10000).

main([PortText]) ->
    Port = list_to_integer(PortText),
    ets:new(matches, [named_table, public, {read_concurrency, true}]),
    {ok, Listen} = gen_tcp:listen(Port, [binary, {packet, line}, {packet_size, ?MAX_LINE},
                                         {active, false}, {reuseaddr, true}, {backlog, 8192},
                                         {nodelay, true}, {send_timeout, 30000},
                                         {send_timeout_close, true}]),
    io:format("matchstream_peer: listening on ~p~n", [Port]),
    [spawn(fun() -> acceptor(Listen) end) || _ <- lists:seq(1, erlang:system_info(schedulers))],
    receive never -> ok end.

acceptor(Listen) ->
    case gen_tcp:accept(Listen) of
        {ok, Socket} ->
            spawn(fun() -> acceptor(Listen) end),
            first_line(Socket);
        {error, _} ->
            acceptor(Listen)
    end.

first_line(Socket) ->
    case gen_tcp:recv(Socket, 0, ?CONNECT_TIMEOUT_MS) of
        {ok, Line} ->
            case binary:split(chomp(Line), <<":">>, [global]) of
                [<<"VERSION">>, <<"1">>, <<"CONNECT">>, User, <<"MATCH">>, Id] when User =/= <<>> ->
                    client(Socket, Id);
                [<<"VERSION">>, <<"1">>, <<"WATCH">>, Id] when Id =/= <<>> ->
                    watcher(Socket, Id);
                [<<"VERSION">>, V | _] when V =/= <<"1">> ->
                    refuse(Socket, <<"unsupported version ", V/binary, " (this server speaks 1)">>);
                _ ->
                    refuse(Socket, <<"expected VERSION:1:CONNECT:<user>:MATCH:<match-id>">>)
            end;
        {error, timeout} ->
            refuse(Socket, <<"no CONNECT line within 10 s">>);
        {error, _} ->
            gen_tcp:close(Socket)
    end.

refuse(Socket, Why) ->
    gen_tcp:send(Socket, [<<"ERROR: ">>, Why, <<"\n">>]),
    gen_tcp:close(Socket).

%% A client: subscribe, then write every block the match sends until the end block.
client(Socket, Id) ->
    case ets:lookup(matches, Id) of
        [{_, Match}] ->
            Ref = erlang:monitor(process, Match),
            Match ! {subscribe, self()},
            ok = inet:setopts(Socket, [{active, once}]),
            client_loop(Socket, Ref);
        [] ->
            refuse(Socket, <<"unknown match ", Id/binary>>)
    end.

client_loop(Socket, Ref) ->
    receive
        {block, Block} ->
            case gen_tcp:send(Socket, Block) of
                ok -> client_loop(Socket, Ref);
                {error, _} -> ok
            end;
        {last, Block} ->
            gen_tcp:send(Socket, Block),
            gen_tcp:close(Socket);
        {tcp, Socket, _} ->
            inet:setopts(Socket, [{active, once}]),
            client_loop(Socket, Ref);
        {tcp_closed, Socket} -> ok;
        {tcp_error, Socket, _} -> ok;
        {'DOWN', Ref, process, _, _} ->
            gen_tcp:close(Socket)
    end.

%% A watcher: one JSON event a line; each answered OK <seq> or ERROR: <why>.
watcher(Socket, Id) ->
    case gen_tcp:recv(Socket, 0) of
        {ok, Line} ->
            Reply = case catch jiffy:decode(chomp(Line), [return_maps]) of
                        #{<<"kind">> := Kind} = Event when is_binary(Kind) -> register_event(Id, Kind, Event);
                        _ -> {error, <<"each line must be a JSON object with a \"kind\"">>}
                    end,
            case Reply of
                {ok, Seq} -> gen_tcp:send(Socket, [<<"OK ">>, integer_to_binary(Seq), <<"\n">>]);
                {error, Why} -> gen_tcp:send(Socket, [<<"ERROR: ">>, Why, <<"\n">>])
            end,
            watcher(Socket, Id);
        {error, _} ->
            gen_tcp:close(Socket)
    end.

register_event(Id, <<"start">>, Event) ->
    Match = case ets:lookup(matches, Id) of
                [{_, M}] -> M;
                [] ->
                    M = spawn(fun() -> match_init(Id) end),
                    case ets:insert_new(matches, {Id, M}) of
                        true -> M;
                        false -> exit(M, kill), element(2, hd(ets:lookup(matches, Id)))
                    end
            end,
    call(Match, Event);
register_event(Id, _Kind, Event) ->
    case ets:lookup(matches, Id) of
        [{_, Match}] -> call(Match, Event);
        [] -> {error, <<"unknown match ", Id/binary, " (send a start event first)">>}
    end.

call(Match, Event) ->
    Ref = erlang:monitor(process, Match),
    Match ! {event, self(), Ref, Event},
    receive
        {Ref, Reply} -> erlang:demonitor(Ref, [flush]), Reply;
        {'DOWN', Ref, process, _, _} -> {error, <<"match ended">>}
    end.

%% A match: its status, its sequence number and its subscribers.
match_init(Id) ->
    match_loop(#{id => Id, seq => 0, status => #{}, subs => #{}, ended => false}).

match_loop(#{seq := Seq, subs := Subs} = S) ->
    receive
        {subscribe, Client} ->
            Client ! {block, render(<<"status">>, Seq, status_fields(S))},
            match_loop(S#{subs := Subs#{Client => erlang:monitor(process, Client)}});
        {'DOWN', _, process, Client, _} ->
            match_loop(S#{subs := maps:remove(Client, Subs)});
        {event, From, Ref, #{<<"kind">> := Kind} = Event} ->
            case apply_event(Kind, Event, S) of
                {ok, Fields, S1} ->
                    Next = Seq + 1,
                    Block = render(Kind, Next, Fields),
                    Tag = case Kind of <<"end">> -> last; _ -> block end,
                    maps:foreach(fun(C, _) -> C ! {Tag, Block} end, Subs),
                    From ! {Ref, {ok, Next}},
                    case Kind of
                        <<"end">> -> ets:delete(matches, maps:get(id, S));
                        _ -> match_loop(S1#{seq := Next})
                    end;
                {error, Why} ->
                    From ! {Ref, {error, Why}},
                    match_loop(S)
            end
    end.

apply_event(<<"start">>, E, S) ->
    Status = #{home => text(maps:get(<<"home">>, E, <<"home">>)),
               visit => text(maps:get(<<"visit">>, E, <<"visit">>)),
               home_players => roster(maps:get(<<"home_players">>, E, [])),
               visit_players => roster(maps:get(<<"visit_players">>, E, [])),
               home_score => 0, visit_score => 0, period => <<"first">>},
    {ok, status_fields(S#{status := Status}), S#{status := Status}};
apply_event(<<"goal">>, E, #{status := St} = S) ->
    Team = text(maps:get(<<"team">>, E, <<>>)),
    St1 = case {Team, St} of
              {T, #{home := T, home_score := H}} -> St#{home_score := H + 1};
              {T, #{visit := T, visit_score := V}} -> St#{visit_score := V + 1};
              _ -> St
          end,
    {ok, event_fields(E, St), S#{status := St1}};
apply_event(<<"period">>, E, #{status := St} = S) ->
    {ok, event_fields(E, St), S#{status := St#{period => text(maps:get(<<"period">>, E, <<>>))}}};
apply_event(Kind, E, #{status := St} = S) when byte_size(Kind) > 0, byte_size(Kind) =< 32 ->
    {ok, event_fields(E, St), S};
apply_event(_, _, _) ->
    {error, <<"bad event kind">>}.

status_fields(#{status := St}) when map_size(St) =:= 0 -> [];
status_fields(#{status := St}) ->
    [{<<"home">>, maps:get(home, St)}, {<<"home_players">>, {list, players(maps:get(home_players, St))}},
     {<<"home_score">>, integer_to_binary(maps:get(home_score, St))},
     {<<"visit">>, maps:get(visit, St)}, {<<"visit_players">>, {list, players(maps:get(visit_players, St))}},
     {<<"visit_score">>, integer_to_binary(maps:get(visit_score, St))},
     {<<"period">>, maps:get(period, St)}].

%% Player numbers become "Name (N)" from the rosters; other fields are shown as given.
event_fields(E, St) ->
    Team = text(maps:get(<<"team">>, E, <<>>)),
    Roster = case St of
                 #{home := Team, home_players := R} -> R;
                 #{visit := Team, visit_players := R} -> R;
                 _ -> #{}
             end,
    [{K, field(K, V, Roster)} || {K, V} <- lists:sort(maps:to_list(maps:remove(<<"kind">>, E)))].

field(K, N, Roster) when is_integer(N), (K =:= <<"player">> orelse K =:= <<"player_out">>) ->
    player(N, maps:get(N, Roster, <<"N/N">>));
field(_, [N, Name], _) when is_integer(N) -> player(N, text(Name));
field(_, V, _) -> text(V).

roster(List) -> maps:from_list([{N, text(Name)} || [N, Name] <- List, is_integer(N)]).
players(Roster) -> [player(N, Name) || {N, Name} <- lists:sort(maps:to_list(Roster))].
player(N, Name) -> <<Name/binary, " (", (integer_to_binary(N))/binary, ")">>.

text(B) when is_binary(B) -> B;
text(I) when is_integer(I) -> integer_to_binary(I);
text(F) when is_float(F) -> float_to_binary(F, [short]);
text(true) -> <<"true">>;
text(false) -> <<"false">>;
text(null) -> <<"null">>;
text(_) -> <<"?">>.

render(Kind, Seq, Fields) ->
    AtUs = os:system_time(microsecond),
    {{Y, Mo, D}, {H, Mi, Se}} = calendar:system_time_to_universal_time(AtUs, microsecond),
    Stamp = io_lib:format("~4..0B-~2..0B-~2..0B ~2..0B:~2..0B:~2..0B", [Y, Mo, D, H, Mi, Se]),
    iolist_to_binary([Stamp, <<": ">>, Kind, <<":\n">>,
                      <<"    seq: ">>, integer_to_binary(Seq), <<"\n">>,
                      <<"    at_us: ">>, integer_to_binary(AtUs), <<"\n">>,
                      [line(K, V) || {K, V} <- Fields], <<"\n">>]).

line(K, {list, Items}) -> [<<"    ">>, K, <<":\n">>, [[<<"         ">>, I, <<"\n">>] || I <- Items]];
line(K, V) -> [<<"    ">>, K, <<": ">>, V, <<"\n">>].

chomp(Line) -> string:trim(Line, trailing, "\r\n").
