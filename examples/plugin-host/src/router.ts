import type { Handler, Plugin } from './plugin.js'
import { decodeSegment } from './request.js'

/** Paths the host itself answers. */
const RESERVED = new Set(['admin', 'health'])

/** A compiled route. */
interface Route {
  plugin: Plugin
  method: string
  /** Path segments below the plugin prefix; `:name` segments capture. */
  segments: string[]
  handler: Handler
  /** `'GET /todos/:id'`, for the index page. */
  label: string
}

/** A matched request. */
export interface Match {
  plugin: Plugin
  handler: Handler
  params: Record<string, string>
  /** The path below the plugin prefix. */
  path: string
}

/** Maps `METHOD /<plugin>/<path>` to plugin handlers. Literal segments win over `:params`. */
export class Router {
  private readonly routes: Route[] = []
  private readonly plugins: readonly Plugin[]

  constructor(plugins: readonly Plugin[]) {
    this.plugins = plugins
    const ids = new Set<string>()
    for (const plugin of plugins) {
      if (!/^[a-z][a-z0-9-]*$/.test(plugin.id) || ids.has(plugin.id) || RESERVED.has(plugin.id)) {
        throw new Error(
          `plugin id ${JSON.stringify(plugin.id)} must be unique, lowercase letters, digits and "-", and not admin or health`,
        )
      }
      ids.add(plugin.id)
      for (const [spec, handler] of Object.entries(plugin.routes)) {
        const [method, path] = spec.split(' ')
        if (!method || !path?.startsWith('/')) throw new Error(`route ${JSON.stringify(spec)} is not "METHOD /path"`)
        const segments = path.split('/').filter(Boolean)
        const label = `${method} /${[plugin.id, ...segments].join('/')}`
        this.routes.push({ plugin, method, segments, handler, label })
      }
    }
    // Fewer captures first, so `/files/usage` beats `/files/:name`.
    this.routes.sort((a, b) => captures(a) - captures(b))
  }

  /** Routes by plugin, for the index page. */
  describe(): { id: string; description: string; routes: string[] }[] {
    return this.plugins.map((plugin) => ({
      id: plugin.id,
      description: plugin.description,
      routes: this.routes.filter((route) => route.plugin === plugin).map((route) => route.label),
    }))
  }

  /**
   * The route for a request, `'method'` when the path exists for other methods only, or undefined. Throws a 400
   * `HttpError` for a path segment that is not valid UTF-8 percent-encoding (`%zz`, an encoded lone surrogate).
   */
  match(method: string, pathname: string): Match | 'method' | undefined {
    const [id, ...rest] = pathname.split('/').filter(Boolean)
    const decoded = rest.map(decodeSegment)
    let pathMatched = false
    for (const route of this.routes) {
      if (route.plugin.id !== id || route.segments.length !== decoded.length) continue
      const params: Record<string, string> = {}
      const ok = route.segments.every((segment, i) => {
        if (segment.startsWith(':')) params[segment.slice(1)] = decoded[i]!
        return segment.startsWith(':') || segment === decoded[i]
      })
      if (!ok) continue
      if (route.method !== method) {
        pathMatched = true
        continue
      }
      return { plugin: route.plugin, handler: route.handler, params, path: `/${rest.join('/')}` }
    }
    return pathMatched ? 'method' : undefined
  }
}

function captures(route: Route): number {
  return route.segments.filter((segment) => segment.startsWith(':')).length
}
