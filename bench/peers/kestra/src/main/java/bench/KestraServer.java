package bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.kestra.core.http.HttpRequest;
import io.kestra.core.http.HttpResponse;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.flows.Flow;
import io.kestra.core.models.triggers.AbstractTrigger;
import io.kestra.core.repositories.ExecutionRepositoryInterface;
import io.kestra.core.repositories.FlowRepositoryInterface;
import io.kestra.core.repositories.LocalFlowRepositoryLoader;
import io.kestra.core.runners.ExecutorInterface;
import io.kestra.core.runners.Indexer;
import io.kestra.core.runners.Scheduler;
import io.kestra.core.serializers.JacksonMapper;
import io.kestra.core.services.WebhookService;
import io.kestra.core.utils.IdUtils;
import io.kestra.plugin.core.trigger.AbstractWebhookTrigger;
import io.kestra.plugin.core.trigger.WebhookContext;
import io.kestra.worker.DefaultWorker;
import io.micronaut.context.ApplicationContext;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Kestra's standalone server (executor, worker, scheduler, indexer on the embedded H2 database and
 * local storage, configured as `kestra server local` configures them) with a small HTTP front in
 * place of Kestra's webserver module, which is not published on Maven Central. The front serves:
 *
 * <ul>
 *   <li>POST /api/v1/main/executions/webhook/{namespace}/{flowId}/{key}: Kestra's own webhook path
 *       (the flow's Webhook trigger evaluates the request, as the webserver does);</li>
 *   <li>GET /api/v1/main/executions/{id}: the execution as Kestra's JSON;</li>
 *   <li>GET /health: 200 once every service runs.</li>
 * </ul>
 *
 * Usage: KestraServer PORT DATA_DIR FLOW_DIR
 */
public final class KestraServer {
    private static final String TENANT = "main";
    private static final String WEBHOOK = "/api/v1/main/executions/webhook/";
    private static final String EXECUTIONS = "/api/v1/main/executions/";

    private static volatile boolean ready = false;

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            // a failed start must end the process (Kestra's threads would keep it alive)
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        long t0 = System.nanoTime();
        int port = Integer.parseInt(args[0]);
        Path data = Path.of(args[1]).toAbsolutePath();
        File flows = new File(args[2]);
        Files.createDirectories(data);

        Map<String, Object> props = new HashMap<>();
        // what `kestra server local` sets
        props.put("kestra.server-type", "STANDALONE");
        props.put("kestra.repository.type", "h2");
        props.put("kestra.queue.type", "h2");
        props.put("kestra.storage.type", "local");
        props.put("kestra.storage.local.base-path", data.toString());
        props.put("datasources.h2.url", "jdbc:h2:file:" + data.resolve("database") + ";DB_CLOSE_DELAY=-1;DB_CLOSE_ON_EXIT=FALSE");
        props.put("datasources.h2.username", "sa");
        props.put("datasources.h2.password", "");
        props.put("datasources.h2.driverClassName", "org.h2.Driver");
        // Kestra's application.yml defaults that matter here
        props.put("flyway.datasources.h2.enabled", true);
        props.put("flyway.datasources.h2.locations", List.of("classpath:migrations/h2"));
        props.put("flyway.datasources.h2.ignore-migration-patterns", "*:missing,*:future");
        props.put("flyway.datasources.h2.out-of-order", true);
        props.put("jackson.serialization.writeDatesAsTimestamps", false);
        props.put("jackson.serialization.writeDurationsAsTimestamps", false);
        props.put("jackson.serialization-inclusion", "non_null");
        props.put("kestra.tutorial-flows.enabled", false);
        props.put("kestra.anonymous-usage-report.enabled", false);
        props.put("kestra.retries.attempts", 5);
        props.put("kestra.retries.multiplier", 2.0);
        props.put("kestra.retries.delay", "1s");
        props.put("kestra.jdbc.queues.min-poll-interval", "25ms");
        props.put("kestra.jdbc.queues.max-poll-interval", "1000ms");
        props.put("kestra.jdbc.queues.poll-switch-interval", "5s");
        props.put("kestra.jdbc.cleaner.initial-delay", "1h");
        props.put("kestra.jdbc.cleaner.fixed-delay", "1h");
        props.put("kestra.jdbc.cleaner.retention", "7d");
        props.put("kestra.variables.env-vars-prefix", "KESTRA_");
        props.put("kestra.variables.cache-enabled", true);
        props.put("kestra.variables.cache-size", 1000);
        props.put("kestra.metrics.prefix", "kestra");
        props.put("kestra.traces.root", "DISABLED");
        props.put("kestra.server.basic-auth.enabled", false);
        props.put("kestra.server.terminationGracePeriod", "5m");
        props.put("kestra.server.workerTaskRestartStrategy", "AFTER_TERMINATION_GRACE_PERIOD");
        props.put("kestra.server.liveness.enabled", true);
        props.put("kestra.server.liveness.interval", "5s");
        props.put("kestra.server.liveness.timeout", "45s");
        props.put("kestra.server.liveness.initialDelay", "45s");
        props.put("kestra.server.liveness.heartbeatInterval", "3s");
        props.put("kestra.hidden-labels.prefixes", List.of("system.", "internal."));
        props.put("kestra.server.service.purge.initial-delay", "1h");
        props.put("kestra.server.service.purge.fixed-delay", "1d");
        props.put("kestra.server.service.purge.retention", "30d");
        props.put("kestra.tasks.tmp-dir.path", data.resolve("tmp").toString());
        props.put("kestra.url", "http://127.0.0.1:" + port + "/");
        props.put("micronaut.executors.scheduled.type", "scheduled");
        props.put("micronaut.executors.scheduled.core-pool-size", 1);
        props.put("micronaut.caches.default.maximum-weight", 10485760);

        ApplicationContext ctx = ApplicationContext.builder().properties(props).deduceEnvironment(false).start();
        Runtime.getRuntime().addShutdownHook(new Thread(ctx::close));

        if (flows.isDirectory()) {
            ctx.getBean(LocalFlowRepositoryLoader.class).load(TENANT, flows);
        }

        ExecutorService pool = Executors.newCachedThreadPool();
        pool.execute(ctx.getBean(ExecutorInterface.class));
        // Kestra 1.x default: 8 worker threads per core
        int workerThreads = Integer.getInteger("kestra.workerThreads", Runtime.getRuntime().availableProcessors() * 8);
        DefaultWorker worker = ctx.createBean(DefaultWorker.class, IdUtils.create(), workerThreads, null);
        pool.execute(worker);
        pool.execute(ctx.getBean(Scheduler.class));
        if (ctx.containsBean(Indexer.class)) {
            pool.execute(ctx.getBean(Indexer.class));
        }

        FlowRepositoryInterface flowRepository = ctx.getBean(FlowRepositoryInterface.class);
        ExecutionRepositoryInterface executionRepository = ctx.getBean(ExecutionRepositoryInterface.class);
        WebhookService webhookService = ctx.getBean(WebhookService.class);
        ObjectMapper json = JacksonMapper.ofJson();

        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 4096);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/health", ex -> send(ex, ready ? 200 : 503, "{\"ready\":" + ready + "}"));
        http.createContext(EXECUTIONS, ex -> {
            try {
                String path = ex.getRequestURI().getPath();
                if (path.startsWith(WEBHOOK) && ex.getRequestMethod().equals("POST")) {
                    String[] p = path.substring(WEBHOOK.length()).split("/");
                    if (p.length != 3) {
                        send(ex, 404, "{\"message\":\"not found\"}");
                        return;
                    }
                    Optional<Flow> flow = flowRepository.findById(TENANT, p[0], p[1]);
                    if (flow.isEmpty()) {
                        send(ex, 404, "{\"message\":\"flow not found\"}");
                        return;
                    }
                    Optional<AbstractWebhookTrigger> trigger = Optional.ofNullable(flow.get().getTriggers()).orElse(List.of()).stream()
                        .filter(t -> t instanceof AbstractWebhookTrigger w && p[2].equals(w.getKey()))
                        .map(t -> (AbstractWebhookTrigger) t)
                        .findFirst();
                    if (trigger.isEmpty()) {
                        send(ex, 404, "{\"message\":\"webhook not found\"}");
                        return;
                    }
                    byte[] body = ex.getRequestBody().readAllBytes();
                    Map<String, List<String>> headers = new HashMap<>(ex.getRequestHeaders());
                    URI uri = URI.create("http://127.0.0.1:" + port + path);
                    HttpRequest request = HttpRequest.of(uri, "POST",
                        HttpRequest.StringRequestBody.of(new String(body, StandardCharsets.UTF_8)), headers);
                    WebhookContext context = WebhookContext.builder()
                        .request(request).path(null).flow(flow.get()).trigger(trigger.get()).webhookService(webhookService)
                        .build();
                    HttpResponse<?> response = trigger.get().evaluate(context).block(Duration.ofMinutes(10));
                    int status = response.getStatus().getCode();
                    Object out = response.getBody();
                    send(ex, status, out == null ? "" : json.writeValueAsString(out));
                } else if (ex.getRequestMethod().equals("GET")) {
                    String id = path.substring(EXECUTIONS.length());
                    Optional<Execution> execution = executionRepository.findById(TENANT, id);
                    if (execution.isEmpty()) {
                        send(ex, 404, "{\"message\":\"execution not found\"}");
                    } else {
                        send(ex, 200, json.writeValueAsString(execution.get()));
                    }
                } else {
                    send(ex, 404, "{\"message\":\"not found\"}");
                }
            } catch (Throwable e) {
                e.printStackTrace();
                send(ex, 500, "{\"message\":" + json.writeValueAsString(String.valueOf(e)) + "}");
            }
        });
        http.start();
        ready = true;
        System.out.printf("kestra bench server ready on http://127.0.0.1:%d in %d ms%n", port, (System.nanoTime() - t0) / 1_000_000);
        System.out.flush();
        Thread.currentThread().join();
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        }
        ex.close();
    }
}
