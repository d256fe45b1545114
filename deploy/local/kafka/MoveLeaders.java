// Moves partition leaders on purpose, as an operator does before taking a broker out or to rebalance: for
// each partition of the named topics, the next in-sync replica after the current leader is made the
// preferred replica (a reassignment that only reorders the replica list: no data moves), then a preferred
// leader election hands it the leadership. Kafka's Admin API (kafka-clients), no other jar.
//
//   java -cp '<kafka lib>/*' deploy/local/kafka/MoveLeaders.java <bootstrap servers> <topic>...
//
// Prints one line: how many leaders moved, and each partition whose election failed. Exit code 1 if one did.
// Run by deploy/local/stack.mjs moveLeaders() (the chaos test's "move partition leaders" fault).
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.ElectionNotNeededException;

public class MoveLeaders {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: MoveLeaders <bootstrap servers> <topic>...");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    List<String> topics = List.of(args).subList(1, args.length);
    try (Admin admin = Admin.create(props)) {
      Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get();
      Map<TopicPartition, Optional<NewPartitionReassignment>> moves = new HashMap<>();
      Map<TopicPartition, Integer> target = new HashMap<>();
      for (TopicDescription t : described.values()) {
        for (TopicPartitionInfo p : t.partitions()) {
          if (p.leader() == null || p.replicas().size() < 2) continue;
          int leader = p.leader().id();
          Set<Integer> isr = new HashSet<>();
          for (Node n : p.isr()) isr.add(n.id());
          List<Integer> replicas = new ArrayList<>();
          for (Node n : p.replicas()) replicas.add(n.id());
          // The next in-sync replica after the leader, in replica order.
          int at = replicas.indexOf(leader);
          Integer next = null;
          for (int i = 1; i < replicas.size() && next == null; i++) {
            int candidate = replicas.get((at + i) % replicas.size());
            if (isr.contains(candidate)) next = candidate;
          }
          if (next == null) continue;
          List<Integer> order = new ArrayList<>();
          order.add(next);
          for (int r : replicas) if (r != next) order.add(r);
          TopicPartition tp = new TopicPartition(t.name(), p.partition());
          moves.put(tp, Optional.of(new NewPartitionReassignment(order)));
          target.put(tp, next);
        }
      }
      if (moves.isEmpty()) {
        System.out.println("moved 0 leaders: no partition has another in-sync replica");
        return;
      }
      admin.alterPartitionReassignments(moves).all().get();
      // Same replicas, new order: completes at once; wait until the controller says so.
      for (int i = 0; i < 300; i++) {
        if (admin.listPartitionReassignments(moves.keySet()).reassignments().get().isEmpty()) break;
        Thread.sleep(100);
      }
      Map<TopicPartition, Optional<Throwable>> elected =
          admin.electLeaders(ElectionType.PREFERRED, moves.keySet()).partitions().get();
      int moved = 0;
      List<String> failed = new ArrayList<>();
      for (Map.Entry<TopicPartition, Optional<Throwable>> e : elected.entrySet()) {
        Optional<Throwable> error = e.getValue();
        if (error.isEmpty()) moved++;
        else if (!(error.get() instanceof ElectionNotNeededException))
          failed.add(e.getKey() + " (to " + target.get(e.getKey()) + "): " + error.get().getMessage());
      }
      System.out.println(
          "moved " + moved + " of " + moves.size() + " partition leaders"
              + (failed.isEmpty() ? "" : "; failed: " + String.join("; ", failed)));
      if (!failed.isEmpty()) System.exit(1);
    }
  }
}
