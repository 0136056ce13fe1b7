/** The start-up message: where the host listens and a few requests to try. */
export function banner(url: string, backend: string, where: string): string {
  return `Cubby plugin host listening on ${url}
storage: ${backend} (${where})

Try:
  curl -s ${url}/                                                        # plugins and routes
  curl -s -H 'x-user: alice' -d '{"title":"buy milk"}' ${url}/todos      # a to-do for alice
  curl -s -H 'x-user: alice' ${url}/todos                                # alice's list (bob's is separate)
  curl -s -X POST ${url}/counter/visits/incr                             # a shared counter
  curl -s -T package.json ${url}/files/package.json                      # drop a file (raw bytes)
  curl -s ${url}/files/package.json                                      # ... and read it back
  curl -s -X PUT -d '{"temp":21}' '${url}/cache/oslo?ttl=10000'          # cached for 10 s
  curl -sN ${url}/feed/events &                                          # live feed (Server-Sent Events)
  curl -s -H 'x-user: bob' -d '{"text":"hello"}' ${url}/feed             # ... post to it

Stop with Ctrl-C.
`
}
