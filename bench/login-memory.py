"""Memory of a server under a mix of requests, failed logins included.

Usage: python3 bench/login-memory.py BASE_URL SERVER_PID SECONDS

Four client threads send, at random, a comment submission, a page of comments, a
district with its communes, a failed login (argon2id verification against the decoy
hash), a tracking-code lookup and an invalid query, for SECONDS; every 10 s the
server's resident memory is printed. Start the server with the rate limits raised (see
BENCHMARKS.md) so that every request does its work.
"""
import json, random, sys, threading, time, urllib.request
base, pid, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def post(body, token=None, raw=False):
    h={"content-type":"application/json"}
    if token: h["authorization"]="Bearer "+token
    data = body if raw else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(base+"/graphql", data=data, headers=h), timeout=30) as r:
            return json.load(r)
    except Exception as e:
        return None
tok = post({"query":"mutation { startCitizenSession { token } }"})["data"]["startCitizenSession"]["token"]
bodies = [
 lambda i: ({"query":"mutation($i: SubmitCommentInput!) { submitComment(input: $i) { comment { id } } }","variables":{"i":{"body":f"ផ្លូវខូច number {i} please fix 012 345 678","categoryCode":"LOCAL_ROADS","communeCode":"010201","clientId":f"c{i}"}}}, tok),
 lambda i: ({"query":"{ comments(first: 20) { edges { node { id body commune { nameKm } events { kind } } } } }"}, None),
 lambda i: ({"query":"{ adminUnits(level: DISTRICT, parentCode: \"12\") { code nameKm children { code } } }"}, None),
 lambda i: ({"query":"mutation { login(username: \"nobody%d\", password: \"wrong password here\") { token } }" % (i % 50)}, None),
 lambda i: ({"query":"{ commentByTrackingCode(trackingCode: \"KH7F3K2Q\") { status } }"}, None),
 lambda i: ({"query":"{ nope }"}, None),
]
stop = time.time()+seconds
count=[0]
def worker(k):
    i=k*10**6
    while time.time()<stop:
        b,t = random.choice(bodies)(i); post(b,t); i+=1; count[0]+=1
ts=[threading.Thread(target=worker,args=(k,)) for k in range(4)]
for t in ts: t.start()
t0=time.time()
while time.time()<stop:
    time.sleep(10)
    rss=int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])//1024
    print(f"{time.time()-t0:5.0f}s requests={count[0]:7d} rss={rss} MB", flush=True)
for t in ts: t.join()
