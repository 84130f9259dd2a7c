# Pairs upload sessions with blobs for the curl upload ceiling of scripts/bench.sh.
# First file: "<POST url> <session location>" lines (curl write-out of the POST run).
# Second file: "<POST url>\t<digest>\t<blob file>" lines (data.py put-template).
# Prints a curl config with one PUT LOCATION&digest=DIGEST per blob, the body read from the file.
BEGIN {
    print "header = \"Content-Type: application/octet-stream\""
    print "write-out = \"%{http_code} %{url}\\n\""
}
FNR == NR {
    n[$1]++
    loc[$1, n[$1]] = $2
    next
}
{
    split($0, f, "\t")
    i = ++used[f[1]]
    if (i > n[f[1]]) { print "put-config.awk: not enough upload sessions for " f[1] > "/dev/stderr"; exit 1 }
    l = loc[f[1], i]
    sep = index(l, "?") ? "&" : "?"
    printf "url = \"%s%sdigest=%s\"\nupload-file = \"%s\"\noutput = \"/dev/null\"\n", l, sep, f[2], f[3]
}
